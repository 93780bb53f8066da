#!/bin/sh
# "Compiles" the app: writes a script that greets.
echo '#!/bin/sh'
echo 'echo "hello from a multi-stage build (built $(date -u +%Y-%m-%d))"'
