"""The Team page: members and open invitations, invite by e-mail, change a member, remove one;
and the accept page an invitation mail links to (``/invite/<token>/``).

Who may do what is ``tenancy.team``'s rule; these views parse, call it and render. The accept
page has no business in its URL: its token, looked up by hash, is its door, and the page then
runs inside the invitation's business's scope.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, login, password_validation
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_scopes import scope

from stampcard.refusals import Refusal
from stampcard.tenancy import team as service
from stampcard.tenancy.actors import Actor
from stampcard.tenancy.decorators import requires
from stampcard.tenancy.models import Business, Invitation, Location, Membership, Role
from stampcard.tenancy.permissions import Permission

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# As Django's password reset does: the mailed link's token goes into the session and the browser
# on to this placeholder, so the live token is in no later URL, Referer header or log line.
OPENED = "accept"
SESSION_KEY = "stampcard_invitation_token"


class ShopsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class MemberForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.STAFF)
    locations = ShopsField(
        label=_("Shops"),
        queryset=Location.objects.none(),
        required=False,
        help_text=_("Tick none for every shop."),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        shops = Location.objects.order_by("name", "pk")
        if actor.location_ids:
            # A member limited to some shops hands out only those.
            shops = shops.filter(pk__in=actor.location_ids)
            self.fields["locations"].required = True
            self.fields["locations"].help_text = _("Tick at least one shop.")
        self.fields["locations"].queryset = shops  # type: ignore[attr-defined]
        if not shops.exists():
            del self.fields["locations"]

    def location_ids(self) -> list[int]:
        return [shop.pk for shop in self.cleaned_data.get("locations") or ()]


class InviteForm(MemberForm):
    email = forms.EmailField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    field_order = ["email", "role", "locations"]


def _roles_first() -> Case:
    order = {Role.OWNER: 0, Role.MANAGER: 1, Role.STAFF: 2}
    return Case(
        *(When(role=role, then=Value(n)) for role, n in order.items()),
        output_field=IntegerField(),
    )


def _members() -> QuerySet[Membership]:
    return (
        Membership.objects.select_related("user")
        .prefetch_related("locations")
        .annotate(rank=_roles_first())
        .order_by("rank", "user__first_name", "user__email", "pk")
    )


def _open_invitations() -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(accepted_at__isnull=True, cancelled_at__isnull=True)
        .select_related("invited_by")
        .prefetch_related("locations")
        .order_by("-sent_at")
    )


@requires(Permission.MANAGE_STAFF)
def team(request: HttpRequest, business_slug: str) -> HttpResponse:
    """The list with the invite form; POST ``invite`` (the form), ``resend=<id>`` or
    ``cancel=<id>``."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business: Business = request.business  # type: ignore[attr-defined]
    form = InviteForm(actor=actor)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            if "resend" in request.POST or "cancel" in request.POST:
                resend = "resend" in request.POST
                invitation = get_object_or_404(
                    Invitation, pk=_int(request.POST["resend" if resend else "cancel"])
                )
                if resend:
                    service.resend_invitation(business=business, actor=actor, invitation=invitation)
                    note = gettext("Invitation sent again to %(email)s.")
                else:
                    service.cancel_invitation(business=business, actor=actor, invitation=invitation)
                    note = gettext("Invitation to %(email)s cancelled.")
                messages.success(request, note % {"email": invitation.email})
                return redirect("dashboard:team", business.slug)
            form = InviteForm(request.POST, actor=actor)
            if form.is_valid():
                issued = service.invite_member(
                    business=business,
                    actor=actor,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    location_ids=form.location_ids(),
                )
                messages.success(
                    request,
                    gettext("Invitation sent to %(email)s.") % {"email": issued.invitation.email},
                )
                return redirect("dashboard:team", business.slug)
            status = 400
        except Refusal as refusal:
            error, status = refusal.message, refusal.http_status
    return render(
        request,
        "dashboard/team/list.html",
        {
            "lines": service.team_as_seen_by(actor, business, _members()),
            "invitations": service.invitations_seen_by(actor, business, _open_invitations()),
            "form": form,
            "error": error,
            "now": timezone.now(),
            "has_shops": Location.objects.exists(),
        },
        status=status,
    )


@requires(Permission.MANAGE_STAFF)
def member(request: HttpRequest, business_slug: str, member_id: int) -> HttpResponse:
    """One member: change their role and shops (POST ``save``), remove them (POST ``remove``),
    or, on one's own line, leave the business (POST ``leave``). Not found for a member the
    actor does not see in full (``tenancy.team.sees_in_full``)."""
    actor: Actor = request.actor  # type: ignore[attr-defined]
    business: Business = request.business  # type: ignore[attr-defined]
    membership = get_object_or_404(_members(), pk=member_id)
    shops = [shop.pk for shop in membership.locations.all()]
    if not service.sees_in_full(actor, business, membership, shops):
        raise Http404  # a member an owner limited to some shops does not manage
    yourself = membership.user_id == actor.user_id
    form = MemberForm(
        actor=actor,
        initial={"role": membership.role, "locations": list(membership.locations.all())},
    )
    error = ""
    status = 200
    if request.method == "POST":
        name = service.display_name(membership.user)
        try:
            if "leave" in request.POST and yourself:
                service.leave_business(business=business, actor=actor)
                messages.success(
                    request, gettext("You left %(business)s.") % {"business": business.name}
                )
                return redirect("dashboard:home")
            if "remove" in request.POST:
                service.remove_member(business=business, actor=actor, membership=membership)
                messages.success(
                    request, gettext("%(name)s was removed from the team.") % {"name": name}
                )
                return redirect("dashboard:team", business.slug)
            form = MemberForm(request.POST, actor=actor)
            if form.is_valid():
                service.change_member(
                    business=business,
                    actor=actor,
                    membership=membership,
                    role=form.cleaned_data["role"],
                    location_ids=form.location_ids(),
                )
                messages.success(request, gettext("%(name)s saved.") % {"name": name})
                return redirect("dashboard:team", business.slug)
            status = 400
        except Refusal as refusal:
            error, status = refusal.message, refusal.http_status
    return render(
        request,
        "dashboard/team/member.html",
        {"member": membership, "form": form, "error": error, "yourself": yourself},
        status=status,
    )


class NewAccountForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not only digits, not a common password."),
    )

    def __init__(self, *args: Any, email: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        password = cleaned.get("password")
        if password:
            user = get_user_model()(
                username=self.email, email=self.email, first_name=cleaned.get("name", "")
            )
            try:
                password_validation.validate_password(password, user)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, token: str) -> HttpResponse:
    """The page an invitation mail links to. GET only shows; joining is a POST.

    The mailed link (``/invite/<token>/``) keeps its token in the session and redirects to
    ``/invite/accept/``, where the rest happens; a dead or forged link is answered at once.

    Logged in as the invited address: a button joins. Not logged in and no account for the
    address: a name and a password make one (confirmed: the link proved the address), then
    join. An account exists: log in first. Logged in as someone else: told so.
    """
    opened = token == OPENED
    if opened:
        token = request.session.get(SESSION_KEY, "")
    found = service.find_invitation(token)
    if found is None:
        return _unusable(request, service.InvitationInvalid())
    try:
        service.check_usable(found)
    except service.InvitationRefused as refusal:
        request.session.pop(SESSION_KEY, None)
        return _unusable(request, refusal)
    if not opened:
        request.session[SESSION_KEY] = token
        return redirect("dashboard:invitation", token=OPENED)
    with scope(business=found.business):
        return _invitation_page(request, token, found)


def _invitation_page(request: HttpRequest, token: str, found: Invitation) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "invitation": found,
        "business": found.business,
        "shops": list(found.locations.order_by("name")),
        "inviter": service.display_name(found.invited_by) if found.invited_by else "",
    }
    status = 200
    if user.is_authenticated:
        if not service.is_for(found, user):
            context.update(state="wrong_account", signed_in_as=service.display_name(user))
            return render(request, "team/accept.html", context, status=403)
        context["state"] = "join"
        if request.method == "POST":
            try:
                joined = service.accept_invitation(token=token, user=user)
            except Refusal as refusal:
                return _unusable(request, refusal)
            return _welcome(request, joined)
        return render(request, "team/accept.html", context)
    if service.account_exists(found.email):
        context["state"] = "log_in"
        context["login_url"] = f"{reverse('login')}?next={request.path}"
        return render(request, "team/accept.html", context)
    form = NewAccountForm(request.POST or None, email=found.email)
    if request.method == "POST":
        if form.is_valid():
            try:
                joined = service.accept_with_new_account(
                    token=token,
                    name=form.cleaned_data["name"],
                    password=form.cleaned_data["password"],
                )
            except Refusal as refusal:
                return _unusable(request, refusal)
            login(request, joined.user, backend=MODEL_BACKEND)
            return _welcome(request, joined)
        status = 400
    context.update(state="sign_up", form=form)
    return render(request, "team/accept.html", context, status=status)


def _welcome(request: HttpRequest, joined: Membership) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    business = joined.business
    messages.success(request, gettext("Welcome to %(business)s.") % {"business": business.name})
    return redirect("dashboard:business", business_slug=business.slug)


def _unusable(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    return render(
        request,
        "team/invitation_unusable.html",
        {"message": refusal.message},
        status=refusal.http_status,
    )


def _int(value: str) -> int:
    return int(value) if value.isdigit() and len(value) < 19 else 0
