"""spikeforge.boards: real FPGA boards.

:mod:`.uart` (8N1 UART RX/TX), :mod:`.host_protocol` (framed host protocol and its RTL engine),
:mod:`.top` (board top: UART + engine + SpikeforgeSystem + LEDs), :mod:`.pll` (PLL settings
like icepll / ecppll, clock and reset from the PLL), :mod:`.build` (Yosys/nextpnr
builds and reports; ``spikeforge build``), :mod:`.fit` (pre-synthesis fit estimate),
:mod:`.host` (host driver), :mod:`.cosim` / :mod:`.board_tb` (end-to-end co-simulation).
See docs/boards.md.
"""
