"""flask --app wsgi oauth add | list | remove"""
import click
from flask.cli import AppGroup

from . import clients

oauth_cli = AppGroup("oauth", help="Manage the OAuth clients that may get tokens.")


@oauth_cli.command("add")
@click.argument("name")
@click.option("--user", help="The user the client_credentials grant acts as.")
@click.option("--client-id", help="Made up when not given: 32 hex characters.")
@click.option("--client-secret", help="Made up when not given; at least 20 characters.")
@click.option("--access-token-lifespan", type=int, default=clients.ACCESS_TOKEN_LIFESPAN, show_default=True,
              help="Seconds an access token lives.")  # fmt: skip
@click.option("--refresh-token-lifespan", type=int, default=clients.REFRESH_TOKEN_LIFESPAN, show_default=True,
              help="Seconds a refresh token lives.")  # fmt: skip
def add_command(name, user, client_id, client_secret, access_token_lifespan, refresh_token_lifespan):
    """Register a client; prints its client_id and client_secret (shown only this once)."""
    try:
        row, secret = clients.add(name, user, client_id, client_secret, access_token_lifespan, refresh_token_lifespan)
    except clients.ClientError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"client_id\t{row.client_id}\nclient_secret\t{secret}")


@oauth_cli.command("list")
def list_command():
    """List the clients (never their secrets): client_id, name, user, lifespans."""
    for row in clients.listing():
        click.echo(
            f"{row.client_id}\t{row.name}\t{row.user or '-'}\t{row.access_token_lifespan}\t{row.refresh_token_lifespan}"
        )


@oauth_cli.command("remove")
@click.argument("client_id")
def remove_command(client_id):
    """Remove a client; its tokens stop working at once."""
    if not clients.remove(client_id):
        raise click.ClickException(f"No client {client_id!r}")
    click.echo(f"Removed {client_id}")


def init_app(app):
    app.cli.add_command(oauth_cli)
