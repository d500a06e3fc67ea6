"""flask --app wsgi user add | passwd | deactivate | activate | list"""
import click
from flask.cli import AppGroup

from . import users

user_cli = AppGroup("user", help="Manage the users who may call the API.")

password_option = click.option(
    "--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Asked for when not given."
)


def _run(action, *args):
    try:
        action(*args)
    except users.UserError as error:
        raise click.ClickException(str(error)) from None


@user_cli.command("add")
@click.argument("user_name")
@password_option
@click.option("--admin", is_flag=True, help="May also use the test-support routes (/__stand_in/).")
def add_command(user_name, password, admin):
    """Add a user who may call the API."""
    _run(users.add, user_name, password, None, admin)
    click.echo(f"Added {user_name}{' (admin)' if admin else ''}")


@user_cli.command("passwd")
@click.argument("user_name")
@password_option
def passwd_command(user_name, password):
    """Set a user's password; the old one stops working at once."""
    _run(users.set_password, user_name, password)
    click.echo(f"Password changed for {user_name}")


@user_cli.command("deactivate")
@click.argument("user_name")
def deactivate_command(user_name):
    """Refuse a user from now on."""
    _run(users.deactivate, user_name)
    click.echo(f"Deactivated {user_name}")


@user_cli.command("activate")
@click.argument("user_name")
def activate_command(user_name):
    """Let a deactivated user in again."""
    _run(users.activate, user_name)
    click.echo(f"Activated {user_name}")


@user_cli.command("list")
def list_command():
    """List the users: name, sys_id, active or not, admin or not."""
    for user in users.listing():
        flags = ("active" if user.active else "inactive") + ("\tadmin" if user.admin else "")
        click.echo(f"{user.user_name}\t{user.sys_id}\t{flags}")


def init_app(app):
    app.cli.add_command(user_cli)
