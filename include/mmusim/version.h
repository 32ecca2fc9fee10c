/* mmusim — version. Versions with the same major number are API compatible. */
#ifndef MMUSIM_VERSION_H
#define MMUSIM_VERSION_H

#include "api.h"

#define MMUSIM_VERSION_MAJOR 0
#define MMUSIM_VERSION_MINOR 1
#define MMUSIM_VERSION_PATCH 0
#define MMUSIM_VERSION_STRING "0.1.0"
#define MMUSIM_VERSION_NUMBER (MMUSIM_VERSION_MAJOR * 10000 + MMUSIM_VERSION_MINOR * 100 + MMUSIM_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The version the library was built as: compare with MMUSIM_VERSION_NUMBER. */
MMUSIM_API int mmusim_version_number(void);
MMUSIM_API const char *mmusim_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* MMUSIM_VERSION_H */
