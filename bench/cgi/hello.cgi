#!/bin/sh
# Tiny CGI used by bench/run.sh: a fixed text answer, no input read.
printf 'Content-Type: text/plain\r\n\r\nHello from CGI\n'
