"""Ring election algorithms behind one interface (``base.ElectionProtocol``).

Chang–Roberts (the article's, and the default) is ``emulator/protocol/election.py``;
the others live here, one module each; ``emulator/protocol/algorithms.py``
registers them by name.
"""
