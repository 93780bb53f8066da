#!/bin/sh
# "Compiles" app.sh: needs the toolchain, prints the finished program.
test -s /opt/toolchain/cc.bin || { echo "no toolchain" >&2; exit 1; }
printf '#!/bin/sh\n'
cat app.sh
