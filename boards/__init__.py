"""spikeforge.boards: real FPGA boards.

:mod:`.specs` (the supported boards as plain data), :mod:`.protocol` (the framed host
protocol: a pure-Python codec, no Amaranth), :mod:`.host` (host driver; needs only
:mod:`.protocol`), :mod:`.uart` (8N1 UART RX/TX), :mod:`.engine` (the protocol's RTL
engine), :mod:`.pll` (PLL settings like icepll / ecppll, clock and reset from the PLL),
:mod:`.top` (board top: UART + engine + SpikeforgeSystem + LEDs), :mod:`.fit` (pre-synthesis
fit estimate), :mod:`.build` (Yosys/nextpnr builds and reports; ``spikeforge build``),
:mod:`.cosim` / :mod:`.board_tb` (end-to-end co-simulation).
See docs/boards.md.
"""
