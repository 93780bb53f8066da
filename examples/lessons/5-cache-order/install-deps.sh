#!/bin/sh
# A pretend package manager: slow, and depends only on deps.txt.
mkdir -p deps
while read -r name version; do
  echo "installing $name $version"
  sleep 1
  echo "$name $version" > "deps/$name"
done < deps.txt
