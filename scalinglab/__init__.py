"""scalinglab: the library behind *Scaling Laws as Compression*.

Every notebook of the book imports from here; no notebook defines a model, a
trainer or a coder of its own. The modules follow the way data flows:
``data`` → ``model`` → ``train`` → ``sweep`` → ``fit`` → ``plots``/``widgets``,
with ``compress`` turning a model's probabilities into a file.
"""

__version__ = "0.1.0"
