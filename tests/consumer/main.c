/* A program outside the project that uses the installed mmusim: CI builds it
 * against the install tree with find_package and with pkg-config. */
#include <stdio.h>

#include <mmusim.h>

int main(void)
{
    struct mmusim_config cfg;
    mmusim_machine *m;
    mmusim_config_init(&cfg);
    int rc = mmusim_machine_create(&cfg, &m);
    if (rc != MMUSIM_OK) {
        fprintf(stderr, "consumer: %s\n", mmusim_strerror(rc));
        return 1;
    }
    printf("consumer: mmusim %s, PAGE_OFFSET 0x%08x, %u CPUs\n", mmusim_version_string(),
           (unsigned)mmusim_machine_layout(m)->page_offset, mmusim_machine_ncpus(m));
    mmusim_machine_destroy(m);
    return mmusim_version_number() == MMUSIM_VERSION_NUMBER ? 0 : 1;
}
