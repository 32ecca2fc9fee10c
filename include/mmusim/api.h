/*
 * mmusim — how the public API is declared.
 *
 * MMUSIM_API marks every public function. The library is built with hidden
 * visibility (CMakeLists.txt), so a shared build would export exactly these
 * and nothing of the internal mmusim__ functions. MMUSIM_NODISCARD marks the
 * functions that return a status (MMUSIM_OK, MMUSIM_PENDING or an error
 * code): ignoring one is how a refused call goes unnoticed, so the compiler
 * warns.
 */
#ifndef MMUSIM_API_H
#define MMUSIM_API_H

#if defined(__GNUC__) || defined(__clang__)
#define MMUSIM_API __attribute__((visibility("default")))
#define MMUSIM_NODISCARD __attribute__((warn_unused_result))
#else
#define MMUSIM_API
#define MMUSIM_NODISCARD
#endif

#endif /* MMUSIM_API_H */
