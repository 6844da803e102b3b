/*
 * mb_vga: text in the VGA buffer at 0xB8000 (80x25, a character byte then an
 * attribute byte per cell), the way tiny kernels print.  The screen is
 * cleared, several rows are written with different attributes, the last
 * cell too, and every cell is read back (16-bit, 8-bit and 32-bit reads).
 * Each row's text is also printed on COM1, so the serial output shows what
 * the screen holds and a host that shows the guest's screen can be compared.
 */

#include "mb.h"

#define VGA		0xb8000u
#define COLS		80
#define ROWS		25
#define BLANK		0x0720

static volatile uint16_t *const screen = (volatile uint16_t *)VGA;

static const struct {
	int row;
	uint8_t attr;
	const char *text;
} lines[] = {
	{ 0, 0x07, "mb_vga: row 0, light grey on black" },
	{ 1, 0x1f, "mb_vga: row 1, white on blue" },
	{ 2, 0x4e, "mb_vga: row 2, yellow on red" },
	{ 12, 0x2a, "mb_vga: row 12, light green on green, the middle of the screen" },
	{ 24, 0x70, "mb_vga: row 24, black on light grey, the last row" },
};

static void
put_row(int row, uint8_t attr, const char *s)
{
	for (int c = 0; c < COLS; c++) {
		char ch = *s != '\0' ? *s++ : ' ';

		screen[row * COLS + c] = (uint16_t)((uint16_t)attr << 8 | (uint8_t)ch);
	}
}

/* The cells of a row as written: 16-bit reads, then the same as bytes. */
static int
row_is(int row, uint8_t attr, const char *s)
{
	const volatile uint8_t *bytes = (const volatile uint8_t *)VGA;

	for (int c = 0; c < COLS; c++) {
		char ch = *s != '\0' ? *s++ : ' ';
		uint16_t want = (uint16_t)((uint16_t)attr << 8 | (uint8_t)ch);
		int i = row * COLS + c;

		if (screen[i] != want || bytes[2 * i] != (uint8_t)ch || bytes[2 * i + 1] != attr)
			return 0;
	}
	return 1;
}

int
kmain(void)
{
	int blank = 1;

	kprintf("mb_vga: text written to the VGA buffer at 0xB8000\n");
	for (int i = 0; i < COLS * ROWS; i++)
		screen[i] = BLANK;
	for (int i = 0; i < COLS * ROWS; i++) {
		if (screen[i] != BLANK)
			blank = 0;
	}
	check(blank, "cleared: all 2000 cells read 0x0720");

	for (unsigned i = 0; i < nitems(lines); i++)
		put_row(lines[i].row, lines[i].attr, lines[i].text);
	for (unsigned i = 0; i < nitems(lines); i++) {
		check(row_is(lines[i].row, lines[i].attr, lines[i].text),
		    "row %d, attribute 0x%02x, reads back: %s", lines[i].row, lines[i].attr,
		    lines[i].text);
	}
	check(row_is(3, 0x07, "") && row_is(23, 0x07, ""), "rows between stay blank");

	/* The bottom-right cell through 8-bit writes, read as 32 bits with its neighbour. */
	mmio_write8(VGA + 2 * (COLS * ROWS - 1), '#');
	mmio_write8(VGA + 2 * (COLS * ROWS - 1) + 1, 0x0c);
	mmio_write16(VGA + 2 * (COLS * ROWS - 2), 0x0c40);
	check_eq(mmio_read32(VGA + 2 * (COLS * ROWS - 2)), 0x0c230c40,
	    "the last two cells (8- and 16-bit writes) read as one 32-bit word");
	mmio_write32(VGA + 2 * (COLS * 13), 0x1e421e41);
	check_eq(screen[COLS * 13] | (uint32_t)screen[COLS * 13 + 1] << 16, 0x1e421e41,
	    "a 32-bit write fills two cells");
	return mb_finish();
}
