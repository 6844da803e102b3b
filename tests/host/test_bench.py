"""scripts/bench.py: the ratios of each exit to its floor."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'scripts'))
import bench  # noqa: E402


class Floors(unittest.TestCase):
    def table(self, lines):
        class Log:
            bench = lines
        table, problems = bench.collect([Log()])
        self.assertEqual(problems, [])
        return table

    def test_ratio_of_medians(self):
        t = self.table([('vmm_exit_cpuid', '300', 'cycles'), ('vmm_exit_cpuid', '100', 'cycles'),
                        ('vmm_exit_cpuid', '200', 'cycles'), ('vmm_exit_floor_cpuid', '80', 'cycles')])
        self.assertEqual(bench.floor_ratios(t), [('vmm_exit_cpuid', 'vmm_exit_floor_cpuid', 2.5)])
        text = bench.format_ratios(t, markdown=False)
        self.assertIn('2.50x', text[-1])
        md = bench.format_ratios(t, markdown=True)
        self.assertEqual(md[-1], '| vmm_exit_cpuid / vmm_exit_floor_cpuid | 2.50x |')

    def test_no_floor_no_ratio(self):
        t = self.table([('vmm_exit_portio', '300', 'cycles')])
        self.assertEqual(bench.floor_ratios(t), [])
        self.assertEqual(bench.format_ratios(t, markdown=True), [])


if __name__ == '__main__':
    unittest.main()
