"""A local worker process that keeps compiled models warm between `forecast run` commands.

Compiling a model costs 15 to 40 seconds in every new process and cannot be saved to disk;
running an already compiled one costs a few seconds. `forecast run` therefore hands its scenarios
to a worker that it starts on first use and that keeps its compiled models (`client.Runner`);
the worker (`server`) exits after some idle minutes. Any failure of the worker makes the command
run the scenario in its own process instead, with the same output.
"""
