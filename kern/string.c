/*
 * The few C library string functions the kernel uses. gcc may also emit
 * calls to memcpy/memset/memmove/memcmp for structure copies.
 */
#include "types.h"

void *
memset(void *d, int c, size_t n)
{
	void *ret = d;

	/* String stores, eight bytes at a time: a VM's RAM is zeroed (and
	 * poisoned when freed) 128 MiB at a time, which a byte loop made
	 * seconds long under Bochs. */
	u64 q = (u8)c * 0x0101010101010101UL;
	size_t words = n / 8, tail = n % 8;

	__asm__ __volatile__("rep stosq" : "+D"(d), "+c"(words) : "a"(q) :
	    "memory");
	__asm__ __volatile__("rep stosb" : "+D"(d), "+c"(tail) : "a"(q) :
	    "memory");
	return (ret);
}

void *
memcpy(void *d, const void *s, size_t n)
{
	void *ret = d;

	__asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	return (ret);
}

void *
memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	if (dp < sp || dp >= sp + n) {
		while (n-- > 0)
			*dp++ = *sp++;
	} else {
		while (n-- > 0)
			dp[n] = sp[n];
	}
	return (d);
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const u8 *p = a, *q = b;

	for (; n > 0; n--, p++, q++) {
		if (*p != *q)
			return (*p - *q);
	}
	return (0);
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return (n);
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return ((u8)*a - (u8)*b);
}

int
strncmp(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (*a != *b)
			return ((u8)*a - (u8)*b);
		if (*a == '\0')
			break;
	}
	return (0);
}

char *
strchr(const char *s, int c)
{
	for (; *s != '\0'; s++) {
		if (*s == (char)c)
			return ((char *)s);
	}
	return (c == '\0' ? (char *)s : NULL);
}

size_t
strlcpy(char *d, const char *s, size_t n)
{
	size_t len = strlen(s);

	if (n > 0) {
		size_t c = len < n - 1 ? len : n - 1;
		memcpy(d, s, c);
		d[c] = '\0';
	}
	return (len);
}

uint64_t
strtoull(const char *s, char **end, int base)
{
	uint64_t v = 0;

	if ((base == 0 || base == 16) && s[0] == '0' &&
	    (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = 10;
	}
	for (;; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'z')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'Z')
			d = *s - 'A' + 10;
		else
			break;
		if (d >= base)
			break;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	if (end != NULL)
		*end = (char *)s;
	return (v);
}

char *
strstr(const char *h, const char *n)
{
	size_t len = strlen(n);

	for (; *h != '\0'; h++) {
		if (strncmp(h, n, len) == 0)
			return ((char *)h);
	}
	return (len == 0 ? (char *)h : NULL);
}
