"""The rules of DESIGN.md. Services take a Session and return plain dataclasses; they never
import typer, rich or tabulate."""
