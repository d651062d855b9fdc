"""
Test support for L{swarmd.ha}: an in-memory leader store driven by a
L{twisted.internet.task.Clock} (L{fake}) and the L{ILeaderStore}
conformance suite every store provider passes (L{conformance}).
"""
