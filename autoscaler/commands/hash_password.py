"""``autoscaler hash-password``: the hash to put in ``daemon.api.basic_auth_users``."""

from __future__ import annotations

import sys

import click

from autoscaler.errors import UserError


@click.command("hash-password")
def hash_password() -> None:
    """Read a password on stdin (first line) and print its scrypt hash."""
    from autoscaler.daemon.api_security import hash_password as make_hash

    if sys.stdin.isatty():
        import getpass

        password = getpass.getpass("password: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UserError("hash-password: empty password")
    click.echo(make_hash(password))
