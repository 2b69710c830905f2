# A real course's login: the university's single sign-on (OpenID Connect), instead of the
# PAM passwords of the test login. Not run in this repository's tests (no identity provider
# here); the settings are oauthenticator's documented ones.
#
#   1. Install the authenticator into the hub's environment:
#        /opt/backprop-hub/venv/bin/pip install oauthenticator==17.3.0
#   2. Copy this file to a root-only place (it will hold a client secret), fill in the
#      values your identity provider gave you, e.g. /srv/backprop-hub/hub/login.py (0600).
#   3. Make the roster's usernames the accounts' names as the provider sends them
#      (username_claim below), set the class up without passwords, and point it at this file:
#        .venv/bin/python -m autograder.hub up --roster roster.csv --no-passwords \
#            --extra-config /srv/backprop-hub/hub/login.py --ip 127.0.0.1 --port 8000
#      and put the hub behind your HTTPS reverse proxy (nginx, Caddy) at https://hub.example.edu.
#
# Only the roster may log in (c.Authenticator.allowed_users, set by jupyterhub_config.py from
# the roster); setup already made each student's Linux account, so nothing else is created.
# For a launch from the learning management system instead (LTI 1.3), the same place takes
# ltiauthenticator's LTI13Authenticator with the platform's issuer, client id and key set URL.
c = get_config()  # noqa: F821

c.JupyterHub.authenticator_class = "generic-oauth"
c.GenericOAuthenticator.client_id = "backprop-hub"
c.GenericOAuthenticator.client_secret = "CHANGE-ME"                      # from the identity provider
c.GenericOAuthenticator.oauth_callback_url = "https://hub.example.edu/hub/oauth_callback"
c.GenericOAuthenticator.authorize_url = "https://login.example.edu/realms/uni/protocol/openid-connect/auth"
c.GenericOAuthenticator.token_url = "https://login.example.edu/realms/uni/protocol/openid-connect/token"
c.GenericOAuthenticator.userdata_url = "https://login.example.edu/realms/uni/protocol/openid-connect/userinfo"
c.GenericOAuthenticator.scope = ["openid", "profile"]
c.GenericOAuthenticator.username_claim = "preferred_username"            # = the roster's usernames
c.GenericOAuthenticator.login_service = "University login"
c.JupyterHub.bind_url = "http://127.0.0.1:8000"                           # only the reverse proxy talks to it
c.JupyterHub.cookie_options = {"secure": True}
