"""`newsrag bench`: speed as ratios against baselines measured in the same run.

The machine is shared and noisy, so absolute seconds mean little across runs; every suite
measures its own baseline alongside and reports against it.
"""
