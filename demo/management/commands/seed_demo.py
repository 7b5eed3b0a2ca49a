"""Demo data: two customer companies, the support team, customers and ~30 worked tickets.

Everything goes through ``tickets.services`` so the demo tickets carry the same events, numbers and
timestamps as real ones. Running the command again adds nothing that already exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.models import AgentLevel, CustomerAccount, Industry, Role, User
from demo.history import seed_history
from tickets import services
from tickets.models import Category, Channel, Priority, Status, Ticket

DEMO_PASSWORD = "tandem-demo"

ACCOUNTS: dict[str, dict[str, Any]] = {
    "Acme Home Loans": {
        "industry": Industry.GENERAL,
        "site_url": "http://localhost:8001/",
        "allowed_origins": ["http://localhost:8001"],
        # A home-loan lender: bank account and routing numbers on its forms.
        "masking_presets": ["finance"],
        "recording_allowed": True,
    },
    "CarePlus Clinics": {
        "industry": Industry.HEALTHCARE,
        "site_url": "",
        "allowed_origins": [],
        # Medical record and insurance member numbers, dates of birth.
        "masking_presets": ["healthcare"],
        "recording_allowed": False,
    },
}


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    email: str
    role: str
    summary: str
    agent_level: str = ""
    certified: bool = False
    account: str | None = None
    phone: str = ""


DEMO_USERS: list[DemoUser] = [
    DemoUser(
        "manager", "Dana", "Whitfield", "dana.whitfield@tandem.example", Role.MANAGER,
        "manager: everything agents see, Full Control approvals, recordings",
    ),
    DemoUser(
        "agent1", "Priya", "Sharma", "priya.sharma@tandem.example", Role.AGENT,
        "agent, L1, not certified for co-browse", agent_level=AgentLevel.L1,
    ),
    DemoUser(
        "agent1c", "Tomás", "Okafor", "tomas.okafor@tandem.example", Role.AGENT,
        "agent, L1, certified for co-browse", agent_level=AgentLevel.L1, certified=True,
    ),
    DemoUser(
        "agent2", "Lena", "Fischer", "lena.fischer@tandem.example", Role.AGENT,
        "agent, L2", agent_level=AgentLevel.L2,
    ),
    DemoUser(
        "agent3", "Marcus", "Chen", "marcus.chen@tandem.example", Role.AGENT,
        "agent, L3", agent_level=AgentLevel.L3,
    ),
    DemoUser(
        "customer1", "Jordan", "Miller", "jordan.miller@acmehomeloans.example", Role.CUSTOMER,
        "customer of Acme Home Loans (general)", account="Acme Home Loans", phone="+12025550142",
    ),
    DemoUser(
        "customer2", "Aisha", "Khan", "aisha.khan@acmehomeloans.example", Role.CUSTOMER,
        "customer of Acme Home Loans (general)", account="Acme Home Loans", phone="+12025550178",
    ),
    DemoUser(
        "patient1", "Robert", "Alvarez", "robert.alvarez@careplusclinics.example", Role.CUSTOMER,
        "customer of CarePlus Clinics (healthcare: recording off by default)",
        account="CarePlus Clinics", phone="+12025550193",
    ),
]  # fmt: skip


@dataclass(frozen=True)
class DemoTicket:
    requester: str
    subject: str
    description: str
    category: str
    priority: str = Priority.NORMAL
    channel: str = Channel.WEB
    assignee: str | None = None
    #: ("reply" | "note" | "customer", author username or None for the requester, text) or
    #: ("status", actor username, new status).
    steps: tuple[tuple[str, str | None, str], ...] = field(default_factory=tuple)


C, P, CH = Category, Priority, Channel

DEMO_TICKETS: list[DemoTicket] = [
    DemoTicket(
        "customer1", "Loan application stops at step 3 (income details)",
        "I fill in my employer and monthly income, press Continue and the page just reloads step 3. "
        "No error message. Tried twice in Chrome.",
        C.DEBUGGING_ERRORS, P.HIGH, CH.WEB, "agent2",
        (
            ("reply", "agent2", "Thanks Jordan. Could you tell me which employment type you selected? "
             "Self-employed applicants see an extra field that is easy to miss."),
            ("customer", None, "I picked 'Contractor'. I don't see any extra field."),
            ("note", "agent2", "Reproduced with Contractor + monthly income. Looks like the hidden "
             "'ABN' field is required but not shown. Good co-browse candidate."),
        ),
    ),
    DemoTicket(
        "customer2", "Cannot upload payslips — 'file type not allowed'",
        "My payslips are PDFs exported from my bank. The upload says file type not allowed.",
        C.DEBUGGING_ERRORS, P.NORMAL, CH.EMAIL, "agent1",
        (
            ("reply", "agent1", "Hi Aisha, the uploader accepts PDF, JPG and PNG up to 10 MB. Could you "
             "check the file ends in .pdf and not .pdf.download?"),
            ("customer", None, "That was it — the file was named .pdf.download. Uploaded now, thanks!"),
            ("status", "agent1", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "customer1", "Single sign-on loops back to the login page",
        "When I log in with my company Microsoft account I end up back on the Acme login page.",
        C.SSO_AUTHENTICATION, P.URGENT, CH.PHONE, "agent3",
        (
            ("note", "agent3", "SAML response carries the old entity ID. Asked Acme IT to re-upload "
             "metadata."),
            ("reply", "agent3", "We found a configuration mismatch on the identity provider side and are "
             "working with your IT team. We'll update you within the day."),
            ("status", "agent3", Status.PENDING),
        ),
    ),
    DemoTicket(
        "patient1", "Appointment booking page shows the wrong clinic",
        "I choose the Riverside clinic, but the confirmation says Northgate.",
        C.DEBUGGING_ERRORS, P.HIGH, CH.WEB, "agent1c",
        (
            ("reply", "agent1c", "Sorry about that, Robert. Could you tell me the date and time of the "
             "appointment so I can check the booking?"),
            ("note", "agent1c", "Healthcare account: no recording. Ask for consent before any co-browse."),
        ),
    ),
    DemoTicket(
        "customer2", "How do I add my partner as a co-applicant?",
        "We want to apply together. I can't find where to add a second person.",
        C.PRODUCT_ONBOARDING, P.LOW, CH.CHAT, "agent1",
        (
            ("reply", "agent1", "Open your application, go to 'Applicants' and choose 'Add co-applicant'. "
             "They will get an e-mail invitation to fill in their part."),
            ("status", "agent1", Status.RESOLVED),
            ("status", "agent1", Status.CLOSED),
        ),
    ),
    DemoTicket(
        "customer1", "Monthly repayment report is empty",
        "The 'Repayments' dashboard shows no data for last month although I paid on time.",
        C.REPORT_CONFIGURATION, P.NORMAL, CH.WEB, None, (),
    ),
    DemoTicket(
        "customer2", "Charged twice for the valuation fee",
        "My card statement shows two charges of $350 for the property valuation.",
        C.BILLING, P.HIGH, CH.EMAIL, "manager",
        (
            ("note", "manager", "Confirmed duplicate capture in the payment provider. Refund raised."),
            ("reply", "manager", "You're right — the fee was captured twice. We've refunded the second "
             "charge; it shows on your statement in 3 to 5 business days."),
            ("status", "manager", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "customer1", "Where do I connect my bank for automatic income check?",
        "The guide mentions connecting my bank instead of uploading statements. Where is that?",
        C.INTEGRATION_SETUP, P.NORMAL, CH.IN_APP, "agent1c",
        (
            ("reply", "agent1c", "It's under Profile → Connected accounts. Choose your bank and sign in "
             "there; we only receive a read-only income summary."),
        ),
    ),
    DemoTicket(
        "patient1", "Reset my patient portal password",
        "The reset e-mail never arrives.",
        C.ACCOUNT_CONFIGURATION, P.NORMAL, CH.PHONE, "agent1",
        (
            ("note", "agent1", "Verified identity by phone (DOB + last appointment)."),
            ("reply", "agent1", "We've re-sent the reset e-mail. It comes from no-reply@careplus.example — "
             "please check the spam folder too."),
            ("status", "agent1", Status.PENDING),
        ),
    ),
    DemoTicket(
        "customer2", "Pre-approval letter shows old address",
        "I moved last month and updated my profile, but the pre-approval PDF still has the old address.",
        C.ACCOUNT_CONFIGURATION, P.NORMAL, CH.WEB, None, (),
    ),
    DemoTicket(
        "customer1", "Error 'Session expired' every few minutes",
        "While filling the long form I get logged out with 'Session expired' even while typing.",
        C.DEBUGGING_ERRORS, P.HIGH, CH.CHAT, "agent2",
        (
            ("reply", "agent2", "Thanks for reporting. Does this happen on one device only, or also on "
             "your phone?"),
            ("customer", None, "Only on my work laptop."),
            ("note", "agent2", "Probably the corporate proxy stripping cookies. Check with L3."),
            ("status", "agent2", Status.PENDING),
        ),
    ),
    DemoTicket(
        "customer2", "Set up e-mail notifications for document requests",
        "I'd like an e-mail every time the loan officer asks for a document.",
        C.ACCOUNT_CONFIGURATION, P.LOW, CH.WEB, "agent1",
        (
            ("reply", "agent1", "Go to Settings → Notifications and tick 'Document requests'. You can "
             "choose e-mail, SMS or both."),
            ("status", "agent1", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "patient1", "Insurance card upload keeps spinning",
        "I take a photo of my insurance card and the upload never finishes.",
        C.DEBUGGING_ERRORS, P.NORMAL, CH.IN_APP, "agent3",
        (
            ("reply", "agent3", "Could you try a smaller photo? The upload limit is 8 MB and many phones "
             "take 12 MB pictures."),
        ),
    ),
    DemoTicket(
        "customer1", "Invite my broker to see the application",
        "My mortgage broker needs read access to my application. How do I share it?",
        C.PRODUCT_ONBOARDING, P.NORMAL, CH.EMAIL, "agent1c",
        (
            ("reply", "agent1c", "Brokers can be invited from Application → Sharing. They get read-only "
             "access until you remove them."),
            ("status", "agent1c", Status.RESOLVED),
            ("status", "agent1c", Status.CLOSED),
        ),
    ),
    DemoTicket(
        "customer2", "Calculator gives a different rate than the offer",
        "The online calculator says 5.89% but my offer letter says 6.04%.",
        C.OTHER, P.NORMAL, CH.WEB, "agent2",
        (
            ("note", "agent2", "Calculator uses the advertised rate; offer includes the LVR loading. "
             "Explain kindly."),
            ("reply", "agent2", "The calculator shows the advertised rate. Your offer includes a small "
             "loading because the deposit is under 20%. Happy to walk you through it on a call."),
        ),
    ),
    DemoTicket(
        "customer1", "Can't sign the contract — DocuSign button greyed out",
        "The 'Sign now' button is grey. I've read all pages.",
        C.DEBUGGING_ERRORS, P.URGENT, CH.PHONE, None, (),
    ),
    DemoTicket(
        "patient1", "Telehealth video does not start",
        "At my appointment time the video screen stays black.",
        C.DEBUGGING_ERRORS, P.URGENT, CH.PHONE, "agent2",
        (
            ("reply", "agent2", "Please allow camera and microphone when the browser asks, then reload. "
             "If you blocked them before, click the camera icon in the address bar."),
            ("customer", None, "That worked, the doctor could see me. Thank you!"),
            ("status", "agent2", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "customer2", "Two-factor codes arrive late",
        "The SMS code arrives after it has expired, so I can't log in.",
        C.SSO_AUTHENTICATION, P.HIGH, CH.WEB, "agent3",
        (
            ("reply", "agent3", "We can switch you to an authenticator app, which works offline. Shall "
             "I send the setup steps?"),
            ("customer", None, "Yes please."),
        ),
    ),
    DemoTicket(
        "customer1", "Export my application as PDF",
        "I need a copy of everything I submitted for my records.",
        C.REPORT_CONFIGURATION, P.LOW, CH.EMAIL, None, (),
    ),
    DemoTicket(
        "customer2", "Direct debit date change",
        "Can I move my repayment date from the 1st to the 15th of the month?",
        C.BILLING, P.NORMAL, CH.CHAT, "agent1",
        (
            ("reply", "agent1", "Yes — Repayments → Schedule → Change date. The first repayment on the new "
             "date may be pro-rated."),
        ),
    ),
    DemoTicket(
        "patient1", "Lab results not visible",
        "The clinic says my blood test results are ready but the portal shows nothing.",
        C.ACCOUNT_CONFIGURATION, P.HIGH, CH.WEB, None, (),
    ),
    DemoTicket(
        "customer1", "Property address not found in the search",
        "Our new build doesn't show up when I type the address.",
        C.OTHER, P.NORMAL, CH.WEB, "agent1c",
        (
            ("reply", "agent1c", "New builds can take a few weeks to appear. You can choose 'Enter address "
             "manually' below the search box."),
            ("status", "agent1c", Status.PENDING),
        ),
    ),
    DemoTicket(
        "customer2", "Dashboard widgets disappeared after update",
        "My 'Documents outstanding' and 'Next steps' widgets are gone.",
        C.REPORT_CONFIGURATION, P.NORMAL, CH.IN_APP, "agent3",
        (
            ("note", "agent3", "Known issue after 4.2 release, fix scheduled. Workaround: reset layout."),
            ("reply", "agent3", "Sorry about that! Click 'Customize' then 'Reset layout' and the widgets "
             "come back. A fix is on its way."),
            ("customer", None, "Reset worked, thanks."),
            ("status", "agent3", Status.RESOLVED),
            ("status", "agent3", Status.CLOSED),
        ),
    ),
    DemoTicket(
        "customer1", "Connect Acme to our accounting software",
        "We're self-employed and would like to share our Xero reports directly.",
        C.INTEGRATION_SETUP, P.NORMAL, CH.EMAIL, "agent3",
        (
            ("reply", "agent3", "The Xero connector is in Profile → Connected accounts → Accounting. It "
             "shares the last two financial years' P&L."),
        ),
    ),
    DemoTicket(
        "patient1", "Update my emergency contact",
        "My emergency contact changed. The form won't save the new phone number.",
        C.ACCOUNT_CONFIGURATION, P.NORMAL, CH.WEB, "agent1",
        (
            ("note", "agent1", "Phone field rejects spaces. Raised with the product team."),
            ("reply", "agent1", "Please enter the number without spaces for now, e.g. 5550123456. We're "
             "fixing the form."),
            ("status", "agent1", Status.PENDING),
        ),
    ),
    DemoTicket(
        "customer2", "Interest-only option missing",
        "The product page mentions interest-only, but my application form doesn't offer it.",
        C.PRODUCT_ONBOARDING, P.LOW, CH.WEB, None, (),
    ),
    DemoTicket(
        "customer1", "Refund of application fee after withdrawal",
        "I withdrew my application within the cooling-off period. When will the fee be refunded?",
        C.BILLING, P.NORMAL, CH.EMAIL, "manager",
        (
            ("reply", "manager", "Refunds after a cooling-off withdrawal are processed within 10 business "
             "days. Yours was approved today."),
            ("status", "manager", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "customer2", "Account locked after password attempts",
        "I tried my old password a few times and now the account is locked.",
        C.SSO_AUTHENTICATION, P.HIGH, CH.PHONE, "agent1c",
        (
            ("note", "agent1c", "Identity verified by callback to number on file."),
            ("reply", "agent1c", "Your account is unlocked. Please use 'Forgot password' to set a new one."),
            ("status", "agent1c", Status.RESOLVED),
        ),
    ),
    DemoTicket(
        "patient1", "Prescription refill request form error",
        "When I submit the refill request, it says 'Pharmacy is required' but I chose one.",
        C.DEBUGGING_ERRORS, P.HIGH, CH.WEB, "agent2",
        (
            ("reply", "agent2", "Thanks Robert — which pharmacy did you choose? We'll check the list."),
        ),
    ),
    DemoTicket(
        "customer1", "Change the e-mail address on my account",
        "I'm changing jobs and want to use my personal e-mail instead.",
        C.ACCOUNT_CONFIGURATION, P.LOW, CH.CHAT, None, (),
    ),
]  # fmt: skip


class Command(BaseCommand):
    help = "Create the demo companies, users and tickets (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has users."
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="DAYS",
            help="Also add this many days of history: co-browse sessions with outcomes, surveys, "
            "signals and connection quality, their messages, and tickets answered without co-browse.",
        )

    def handle(self, *args: Any, if_empty: bool = False, history: int = 0, **options: Any) -> None:
        if if_empty and User.objects.exists():
            self.stdout.write("Users exist already; demo data not seeded.")
            return
        with transaction.atomic():
            accounts = self._accounts()
            users, created_users = self._users(accounts)
            created_tickets = self._tickets(users)
            self._certifications(users)
        if history < 0 or history > 730:
            raise CommandError("--history takes 0 to 730 days.")
        if history:
            agents = [users[name] for name in ("agent1c", "agent2", "agent3")]
            customers = [users[name] for name in ("customer1", "customer2", "patient1")]
            seeded = seed_history(history, agents, customers)
            self.stdout.write(
                f"History: {seeded} session(s) over {history} days." if seeded else "History exists."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created_users} user(s) and {created_tickets} ticket(s) created "
                f"({User.objects.count()} users, {Ticket.objects.count()} tickets in total)."
            )
        )

    def _accounts(self) -> dict[str, CustomerAccount]:
        result = {}
        for name, fields in ACCOUNTS.items():
            result[name], _ = CustomerAccount.objects.get_or_create(name=name, defaults=fields)
        return result

    def _users(self, accounts: dict[str, CustomerAccount]) -> tuple[dict[str, User], int]:
        users, created_count = {}, 0
        for spec in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "email": spec.email,
                    "role": spec.role,
                    "agent_level": spec.agent_level,
                    "cobrowse_certified_at": timezone.now() if spec.certified else None,
                    "account": accounts[spec.account] if spec.account else None,
                    "phone": spec.phone,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                # Managers use the Django admin, through the managers' group.
                account_services.sync_admin_access(user)
                created_count += 1
            users[spec.username] = user
        return users, created_count

    def _certifications(self, users: dict[str, User]) -> None:
        """Certified demo agents get their record, as a manager would have recorded it."""
        manager = users["manager"]
        for spec in DEMO_USERS:
            agent = users[spec.username]
            if spec.certified and not agent.certifications.exists():
                User.objects.filter(pk=agent.pk).update(cobrowse_certified_at=None)
                agent.refresh_from_db()
                account_services.certify(
                    agent, actor=manager, on=timezone.localdate(), notes="Demo certification."
                )

    def _tickets(self, users: dict[str, User]) -> int:
        created = 0
        for spec in DEMO_TICKETS:
            requester = users[spec.requester]
            if Ticket.objects.filter(requester=requester, subject=spec.subject).exists():
                continue
            # Phone and e-mail requests are logged by the agent who took them.
            staff_creator = users[spec.assignee] if spec.assignee else users["agent1"]
            opened_by = requester if spec.channel in (Channel.WEB, Channel.IN_APP) else staff_creator
            ticket = services.create_ticket(
                requester=requester,
                created_by=opened_by,
                subject=spec.subject,
                description=spec.description,
                category=spec.category,
                priority=spec.priority,
                channel=spec.channel,
            )
            if spec.assignee:
                ticket = services.assign(ticket, actor=users[spec.assignee], assignee=users[spec.assignee])
            for kind, who, value in spec.steps:
                author = users[who] if who else requester
                if kind == "status":
                    ticket = services.change_status(ticket, actor=author, status=value)
                else:
                    services.add_comment(ticket, author=author, body=value, internal=kind == "note")
                    ticket.refresh_from_db()
            created += 1
        return created
