/* mmusim — the error table (include/mmusim/error.h). */
#include "mmusim/error.h"

static const char *const err_msgs[] = {
#define MMUSIM_ERR_MSG_(name, msg) msg,
    MMUSIM_ERR_MAP(MMUSIM_ERR_MSG_)
#undef MMUSIM_ERR_MSG_
};

static const char *const err_names[] = {
#define MMUSIM_ERR_NAME_(name, msg) #name,
    MMUSIM_ERR_MAP(MMUSIM_ERR_NAME_)
#undef MMUSIM_ERR_NAME_
};

const char *mmusim_strerror(int code)
{
    if (code < 0 || code >= MMUSIM_ERR_COUNT_)
        return "unknown error";
    return err_msgs[code];
}

const char *mmusim_err_name(int code)
{
    if (code < 0 || code >= MMUSIM_ERR_COUNT_)
        return "UNKNOWN";
    return err_names[code];
}

#include "mmusim/version.h"

int mmusim_version_number(void)
{
    return MMUSIM_VERSION_NUMBER;
}

const char *mmusim_version_string(void)
{
    return MMUSIM_VERSION_STRING;
}
