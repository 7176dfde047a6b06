"""The sub-commands of ``spikeforge``: one module per group, each with ``register(subparsers)``.

Convention (one for every sub-command): ``register`` adds its parsers to an
``argparse`` sub-parser set and gives each ``handler=function(args) -> int`` (the exit
status). Errors are :class:`~spikeforge.ir.errors.SpikeforgeError` s, which
:func:`spikeforge.cli.main` prints as one line naming the file or option, exit status 2.
Arguments are checked before any work: ranges by their ``type=`` (:mod:`.options`:
:func:`~.options.integer`, :func:`~.options.number`), output paths by
:func:`~.options.check_output_file` / :func:`~.options.check_output_dir`, and an option that
the chosen mode would ignore is refused, not ignored.

Modules, in the order :mod:`spikeforge.cli` registers them: :mod:`.demo` (``demo``),
:mod:`.verilog` (``verilog``: one core), :mod:`.train` (``train``), :mod:`.compile`
(``compile``, ``verify``), :mod:`.boards` (``build``, ``fit``), :mod:`.nir` (``import``,
``export``: NIR graphs), :mod:`.cost` (``cost``), :mod:`.report` (``report``), :mod:`.fuzz` (``fuzz``), :mod:`.data` (``data fetch``,
``data list``: the IDX data sets), :mod:`.cache` (``cache info``, ``cache clean``: the
co-simulation build cache).
"""
