"""``seismo user add NAME --role ROLE | list | remove NAME``: the console's users.

``add`` reads the password from standard input (one line; twice when it is a
terminal), never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from seismo.cli.common import Subcommands, settings_from_args


def register(sub: Subcommands) -> None:
    from seismo.web.users import ROLES

    p = sub.add_parser("user", help="add, list or remove users of the console")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = usub.add_parser("add", help="add a user (password from standard input)")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--replace", action="store_true", help="replace an existing user")
    a.set_defaults(func=_add)
    ls = usub.add_parser("list", help="list the users and their roles")
    ls.set_defaults(func=_list)
    rm = usub.add_parser("remove", help="remove a user")
    rm.add_argument("name")
    rm.set_defaults(func=_remove)


def _store(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from seismo.web.users import UserStore

    return UserStore(settings_from_args(args).web.users_db)


def _read_password() -> str:
    from seismo.errors import AuthError

    if sys.stdin.isatty():
        pw = getpass.getpass("password: ")
        if getpass.getpass("again: ") != pw:
            raise AuthError("the two passwords differ")
        return pw
    return sys.stdin.readline().rstrip("\r\n")


def _add(args: argparse.Namespace) -> int:
    store = _store(args)
    user = store.add(args.name, args.role, _read_password(), replace=args.replace)
    print(f"user {user.name} ({user.role}) saved in {store.path}")
    return 0


def _list(args: argparse.Namespace) -> int:
    import datetime as dt

    from seismo.text import table

    users = _store(args).users()
    print(table(["name", "role", "created (UTC)"],
                [(u.name, u.role, dt.datetime.fromtimestamp(u.created, dt.UTC)
                  .strftime("%Y-%m-%d %H:%M")) for u in users]))
    print(f"{len(users)} users")
    return 0


def _remove(args: argparse.Namespace) -> int:
    if not _store(args).remove(args.name):
        print(f"no user {args.name!r}", file=sys.stderr)
        return 1
    print(f"user {args.name} removed")
    return 0
