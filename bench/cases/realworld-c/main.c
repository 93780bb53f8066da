#include <stdio.h>

int main(void) {
    /* edit: 0 */
    puts("hello from a static binary");
    return 0;
}
