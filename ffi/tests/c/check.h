/* Shared by the C tests that report through one needle_error: CHECK / OK / FAILS count failures
 * and print the failing call's message. Each test is a single translation unit. */
#ifndef NEEDLE_TEST_CHECK_H
#define NEEDLE_TEST_CHECK_H

#include "needle.h"

#include <stdio.h>

static int failures = 0;
static needle_error err = NEEDLE_ERROR_INIT;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            failures++;                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__, __LINE__, \
                    #cond, err.message ? err.message : "");                                  \
        }                                                                                    \
    } while (0)
#define OK(call) CHECK((call) == NEEDLE_OK)
#define FAILS(call, status) CHECK((call) == (status) && err.code == (status))

#endif
