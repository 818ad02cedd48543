"""``{% admin_login_hint as hint %}``: how to log in, for the admin's login page
(templates/admin/login.html; the account itself is calculator.dev_login's)."""

from django import template

from calculator.dev_login import LoginHint, login_hint

register = template.Library()


@register.simple_tag
def admin_login_hint() -> LoginHint:
    return login_hint()
