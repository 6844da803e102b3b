/* The .ktunables section (tunable.h): lookup and listing. */
#include "tunable.h"
#include "console.h"

extern const ktunable_t __ktunables_start[], __ktunables_end[];

const ktunable_t *
ktunable_find(const char *name)
{
	for (const ktunable_t *t = __ktunables_start; t < __ktunables_end;
	    t++) {
		if (t->tu_cmdline && strcmp(t->tu_name, name) == 0)
			return (t);
	}
	return (NULL);
}

/* At boot: the switches that are on, so a log says how it was run. */
void
ktunable_list_set(void)
{
	for (const ktunable_t *t = __ktunables_start; t < __ktunables_end;
	    t++) {
		if (*t->tu_var)
			kprintf("# %s=1: %s\n", t->tu_name, t->tu_desc);
	}
}
