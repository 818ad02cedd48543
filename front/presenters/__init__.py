"""What the pages show, arranged from the engine's results.

Nothing here invents a figure: every byte count, speed and verdict comes from
``calculator.engine`` (through ``calculator.services``). Each module
arranges one page's results for its template:

* ``labels``: plain words and links for engine values (fit status, context presets);
* ``charts``: the memory breakdown bar and the memory-versus-context chart (SVG geometry);
* ``model_page``: a model page's results region (speed rows, quant ladder);
* ``lists``: lists of models (RAM needed, what runs on a machine or in a budget);
* ``compare``: models side by side;
* ``kits``: memory kits with the speed their platform gives a model;
* ``methodology``: the live predicted-versus-published table.
"""
