/*
 * Suite "vio" (vio_test.c, vio_rtc_test.c): the fake clock the timer
 * models run on; a test moves it by hand.
 */
#ifndef _TESTS_VIO_TEST_H
#define _TESTS_VIO_TEST_H

#include "../kern/types.h"

struct fake_clock {
	hrtime_t now;
};

static inline hrtime_t
fake_clock_read(void *arg)
{
	return (((struct fake_clock *)arg)->now);
}

#endif
