"""The documents members upload in the scenarios, by the names the scenarios use.

Three come from the shared corpus of real files (a one-page policy PDF, the 232-page
Evidence of Coverage and a PDF whose cross-reference table is broken); the rest are
written here so that the search scenarios know exactly which words each passage
holds.
"""

from __future__ import annotations

import attrs

from tests.corpus import corpus_bytes


@attrs.frozen
class Item:
    """One file a member can upload: its name and how to get its bytes."""

    filename: str
    source: str
    inline: bytes = b""

    def data(self) -> bytes:
        return corpus_bytes(self.source) if self.source else self.inline


SUMMARY_OF_BENEFITS = """\
# Summary of Benefits 2025

## Deductible

Your plan deductible is $1,500 per person each year. After you meet the
deductible you pay 20% coinsurance for most covered services until you reach
the out-of-pocket maximum of $6,000.

## Specialist visits

A visit to a specialist costs a $40 copay, and the deductible does not apply to
specialist visits. You need a referral from your primary care doctor before you
see a specialist.

## Emergency room

Emergency room care costs a $250 copay per visit. The copay is waived if you are
admitted to the hospital. Emergency care is covered worldwide.

## Prescription drugs

Generic drugs cost $10 for a 30-day supply at a network pharmacy. Preferred brand
drugs cost $45. Specialty drugs need prior authorization from the plan.

## Hospital stays

An inpatient hospital stay costs 20% coinsurance after the deductible. The plan
covers a semi-private room, meals, nursing care and the drugs you receive while
you are admitted.

## Vision

One routine eye exam each year is covered with no copay. Glasses or contact
lenses are covered up to $150 every two years.
"""

DENTAL_PLAN = """\
# Dental Plan

## Cleanings and check-ups

Two cleanings and two check-ups each year are covered in full, with no
deductible. Dental cleanings include polishing and fluoride for children.

## Fillings

Fillings are covered at 80% after the dental deductible of $50. Tooth-coloured
fillings on back teeth are covered at the price of silver fillings.

## Crowns and bridges

Crowns, bridges and dentures are covered at 50% after the dental deductible,
up to the annual maximum of $1,500.

## Orthodontics

Braces for children under 19 are covered at 50%, up to a lifetime maximum of
$2,000. Adult orthodontics is not covered.
"""

EXPLANATION_OF_BENEFITS = """\
Explanation of Benefits, March 2025

Claim for a specialist visit on 3 March 2025. Billed $210.00, plan discount
$95.00, plan paid $75.00, you owe the $40.00 specialist copay.
This is not a bill.
"""

# An Evidence of Coverage as a PDF reads once parsed: benefit-chart cells broken across
# lines, the service's name above what you pay, contact tables.
EVIDENCE_OF_COVERAGE = """\
# Evidence of Coverage 2025

## Chapter 2: Important phone numbers

Member Services - Contact Information
CALL 1-800-559-3500
Calls to this number are free. Hours are 8 a.m. to 8 p.m., 7 days a week.
TTY 711
If you believe a provider has balance billed you, call Member Services.

## Chapter 4: Medical Benefits Chart

Ambulance services
Covered ambulance services include fixed wing, rotary wing, and
ground ambulance services to the nearest appropriate facility.
Emergency ambulance services are covered worldwide.
$180 copayment for each
one-way trip.

Emergency care
Call 911 for help or go to the nearest emergency room.
Emergency room services are
$90 copayment for each
visit.
The copayment is waived if you are admitted to the hospital.

Transportation services
You are covered for up to
24 one-way rides per year
to plan-approved locations.

Fitness benefit
A membership at participating fitness centers is included.

Dental services
Routine dental cleanings are covered. Cosmetic dentistry is not covered.

## Chapter 6: What you pay for drugs

There is no deductible for this plan. You begin in the Initial Coverage Stage.

## Chapter 7: Asking us to pay a bill

You must submit your claim to us within 12 months of the date you received the service.
To ask us to pay you back, send us the bill and your receipts at P.O. Box 22616,
Long Beach, CA 90801.
"""

CATALOGUE: dict[str, Item] = {
    "2025 policy PDF": Item("accessa-policy-2025.pdf", "simulated_insurance_document.pdf"),
    "Evidence of Coverage": Item("evidence-of-coverage-2025.pdf", "scan_classic_hmo.pdf"),
    "damaged claim form": Item("claim-form.pdf", "broken_startxref.pdf"),
    "summary of benefits": Item("summary-of-benefits.md", "", SUMMARY_OF_BENEFITS.encode()),
    "dental plan": Item("dental-plan.md", "", DENTAL_PLAN.encode()),
    "explanation of benefits": Item("eob-march-2025.txt", "",
                                    EXPLANATION_OF_BENEFITS.encode()),
    "evidence of coverage": Item("evidence-of-coverage.md", "",
                                 EVIDENCE_OF_COVERAGE.encode()),
}


def item(name: str) -> Item:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"no document called {name!r} in the scenarios' catalogue") from None


def note(number: int) -> Item:
    """A short, distinct note, for scenarios that need many documents."""
    text = f"# Note {number}\n\nReminder number {number}: call the plan about claim {number}.\n"
    return Item(f"note-{number}.md", "", text.encode())


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
