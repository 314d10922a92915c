"""How members say insurance things, and how their documents say them.

A member asks "is there a cap on what I spend?"; the booklet says "maximum
out-of-pocket amount". The two share no word, so neither keyword search nor a
hashing embedder can bridge them. This glossary can: each entry pairs a few ways a
member says a thing with the words insurance documents (US Medicare Evidence of
Coverage booklets, Summaries of Benefits and Coverage, commercial policies) use for
it. It is general insurance vocabulary, written from how those documents and their
readers speak, not from any one booklet's questions.

**Matching.** Words are compared as the search index compares them (the
:class:`~domain.ports.Words` port: lowercased, stemmed), so "spending" meets
"spend" and "glasses" meets "glass". A member's phrase matches when each of its
words is in the question and they stand close together (within :data:`SLACK`
other words of the phrase's own length), in any order, in one sentence: "a cap on
what I spend" and "spending cap" both match ``cap spend``; "She may stay a month. What
will she pay each day?" does not match ``pay month``. Stop words count as words here (the
glossary's "most pay" must not match a question with "pay" alone).

**The data.** One entry a line, ``member phrase; member phrase => booklet term;
booklet term``. A member phrase is how members say it, not how the documents do: a
word the documents use themselves ("specialist", "dialysis", "referral") finds its
passages already and needs no entry (one would only add noise). A member phrase of
one word matches that word; keep those to words that mean one insurance thing ("ER",
"meds", "teeth"). The booklet terms avoid common words ("cost", "you pay"): they would
find every passage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from domain.ports.search import Words
from domain.questions import sentences

#: How many other words may stand among a member phrase's words.
SLACK = 5
#: What one of the booklet's words found by the glossary weighs in keyword search,
#: against one of the member's own words (1): it adds candidates and ranks them, but
#: a passage holding the member's words is not outranked by one holding as many of
#: the glossary's.
BOOKLET_WEIGHT = 0.5
#: How far apart two sentences' words stand: farther than any member phrase reaches.
_APART = 1000

GLOSSARY = """
# money: what a member spends
cap spend; cap pay; cap cost; cap bills; most pay; most spend; most owe; max pay; max spend; \
maximum pay; maximum spend; limit spend; limit pay; limit what pay; spending limit; \
spending cap; ceiling; top out; worst case; huge bill; stop paying; protect big bills; \
ever have pay => maximum out-of-pocket amount; out-of-pocket maximum; out-of-pocket limit
own pocket; pay myself; paid myself; paid cash; own money; up front; upfront => \
paid for covered services; pay you back; reimbursement
pay back; paid back; money back; refund; get back; send bill; send plan bill; receipt; \
receipts => reimbursement; request payment; pay you back; paid back
surprise bill; extra bill; billed more; charged more; overcharged; bill more; charged extra \
=> balance billing; balance bill
letter insurance; paper insurance; statement insurance; what plan paid => \
Explanation of Benefits; EOB
monthly fee; monthly payment; monthly cost; monthly bill; pay every month; pay each month; \
pay month; cost month; per month plan => monthly plan premium; premium
pay first; pay before plan; before plan pays; before insurance pays; before insurance; \
kick in; kicks in; starts paying; start paying => deductible
co pay; flat fee; fixed fee; set fee; fixed amount => copayment
percentage; percent; my share; share cost; portion pay; split cost => coinsurance; \
cost sharing
for free; no charge; pay nothing; cost nothing; nothing pay; zero dollars; without paying => \
$0; no cost; no copayment; no coinsurance
cheaper; cheap; save money; discount; lower price => lower cost; savings; Extra Help
can't afford; cannot afford; low income; help paying; help pay; afford; tight money; \
limited income => Extra Help; Medicaid; Low Income Subsidy; financial assistance
drug costs; drug cost; pill cost; pay pills; pay meds => drug payment stage; \
Initial Coverage Stage; Catastrophic Coverage Stage; cost sharing
donut hole; doughnut hole => coverage gap; Catastrophic Coverage Stage
allowance card; spending card; ot c; otc; over counter; drugstore items; drugstore things; \
drugstore stuff; cough syrup; cold medicine; pain relievers; bandages; band aids => \
over-the-counter; OTC allowance
going rate; negotiated price; most they allow => allowed amount; plan's contracted rate

# where care happens
er; e r; emergency department; emergency visit; emergency trip; go emergency => \
emergency room; emergency care; emergency services
911; life threatening; heart attack; stroke => emergency; emergency medical condition
ambulance ride; ambulance trip; paramedics; ambulance bill => ambulance services; \
ambulance transportation
walk in; walkin; urgent clinic; quick care; minute clinic; doc in box; same day \
appointment; after hours => urgent care; urgently needed services
hospital stay; stay hospital; admitted; overnight hospital; kept hospital; nights hospital; \
days hospital; go hospital; in hospital; sent hospital => inpatient hospital care; \
inpatient hospital stay; per day
same day surgery; day surgery; go home same day; minor surgery; procedure done => \
outpatient surgery; ambulatory surgical center; outpatient hospital services
nursing home; rehab center; rehab facility; rehab nursing; convalescent; care home; \
after hospital rehab; recover facility => skilled nursing facility; SNF; skilled nursing care
rehab; physio; pt; therapist exercises; get moving again => rehabilitation services; \
physical therapy; occupational therapy
home nurse; nurse home; nurse visits; aide home; care at home; nurse come house => \
home health care; home health agency
end life; dying; terminal; comfort care; last months => hospice care; terminal prognosis; \
palliative
psych; therapist; counselor; counseling; shrink; depression; depressed; anxiety; \
anxious; stress; mental; talk therapy; nerves => mental health; behavioral health; \
outpatient mental health care; psychiatric
addiction; addicted; drinking problem; alcohol; alcoholic; drugs problem; sober; rehab drugs \
=> substance use disorder; opioid treatment program
doc; family doctor; regular doctor; main doctor; usual doctor; own doctor; gp => \
primary care provider; PCP; primary care physician
pick doctor; picked doctor; picks doctor; picking doctor; chose doctor => select a PCP; \
choose a PCP; assign a PCP
heart doctor; skin doctor; foot doctor; bone doctor; eye surgeon; cancer doctor => \
specialist; cardiologist; dermatologist; podiatrist; oncologist
checkup; check up; yearly physical; yearly exam; annual exam; yearly visit; once year exam; \
yearly check => annual wellness visit; routine physical exam; preventive services
video visit; online doctor; see doctor online; phone appointment; zoom; computer visit => \
telehealth; virtual visit
labs; blood test; blood work; bloodwork; urine test => laboratory services; lab tests; \
diagnostic tests
x ray; xray; scan; mri; ct; cat scan; ultrasound => diagnostic radiology; X-rays; \
diagnostic tests; imaging
second opinion => second opinion; specialist
stitches; broken bone; broke arm; broke leg; broken arm; broken leg; sprain => \
urgently needed services; emergency care

# things a member needs
glasses; specs; spectacles; frames; contact lens; reading glasses; new lenses => eyewear; \
eyeglasses; glasses; contact lenses; frames; lenses
eye doctor; eye exam; eyes checked; eye test; eye check => vision care; routine eye exam; \
optometrist; ophthalmologist
dentist; teeth; tooth; teeth cleaned; cleaning teeth; filling; crown; dentures; root canal; \
false teeth; gums => dental services; preventive dental; comprehensive dental; dental plan
braces teeth; straighten teeth; straightening teeth; straightened teeth; crooked teeth => \
orthodontics; orthodontic
deaf; hard hearing; hearing checked; ears checked; hear better; ear test => \
hearing exam; hearing aids; hearing services; audiologist
shot; shots; jab; flu jab; vaccination; needle flu => vaccine; immunization; flu shot
pills; pill; meds; medicine; medicines; rx; refill; refills; scripts => \
prescription drugs; Part D drugs; covered drugs
mail order; by mail; mailed; delivered home; shipped; sent house => \
mail-order pharmacy; home delivery
drugstore; chemist; pharmacist; pharmacy near => network pharmacy; retail pharmacy
walker; wheelchair; cane; crutches; hospital bed; oxygen; scooter; commode; cpap => \
durable medical equipment; DME
test strips; glucose; sugar test; blood sugar; sugar; diabetic => diabetes supplies; \
diabetes self-management; insulin
ride; rides; transport; get doctor; taxi; uber; lyft; drive me; get appointments; \
van => transportation; one-way rides; non-emergency transportation
gym; exercise; workout; silver sneakers; work out => fitness benefit; fitness program; \
fitness membership
food; meals; groceries; diet; eating => meals; nutrition therapy; medical nutrition therapy
kidney; kidneys => dialysis; kidney disease; end-stage renal disease
chiropractor; back cracked; adjust back; spine adjust => chiropractic services; \
manual manipulation of the spine
needles; needle therapy => acupuncture
feet; toenails; toe nails; corns; bunions => podiatry services; routine foot care
breast xray; breast scan; breast exam => screening mammography; mammogram
colon check; colon scope; bowel screening; scope => colorectal cancer screening; colonoscopy
operation; operated => surgery; surgical services
chemo; chemo treatment => chemotherapy; cancer treatment
hair loss; lost hair; losing hair; lost my hair; hair fell out; bald => wigs; \
cranial prosthesis
pregnant; pregnancy; baby; having baby; maternity => maternity care; prenatal; newborn
quit smoking; stop smoking; smoking; tobacco; vape => tobacco cessation; smoking cessation
bladder; leaking; incontinence pads => incontinence supplies
sleep study; snoring => sleep study; sleep apnea

# rules and permission
okay see; ok see; permission see; approval see; need note; note from doctor \
=> referral; PCP approval
pre approval; preapproval; permission; ok first; okay first; sign off; \
ask first => prior authorization; approval in advance; coverage decision
which doctors; doctors use; doctors see; doctors can see; covered doctors; doctors plan; \
find doctor; list doctors => network provider; plan provider; Provider Directory
out network; outside network; not network; non network; not in plan; doctor not plan => \
out-of-network provider; non-network provider; out-of-network
id card; insurance card; member card; plastic card => membership card
lost card; lost my card; stolen card; card stolen; card lost => membership card; new card
which drugs; what drugs; drugs covered; list drugs; is my drug => Drug List; formulary
step first; try cheaper first => step therapy
how many pills; limit pills; pills at once => quantity limits

# travel and places
abroad; overseas; foreign; foreign country; another country; other country; \
outside country; out country; outside us; outside u s; mexico; canada; europe; asia; \
vacation; holiday; travel; traveling; travelling; cruise => outside the United States; \
worldwide; foreign travel; world-wide emergency coverage
fly home; fly back; flown home; flown back; flight home; flight back; bring me home; \
get me home; medevac; medical evacuation => transportation back to the U.S.; \
from another country
out state; another state; other state; away home; out town; visiting family; \
visit family; visiting daughter; visiting son; snowbird; winter => outside the service area; \
urgently needed services; away from the service area
move; moving; moved; relocate; new address; new state => move out of the service area; \
service area; change of address

# joining and leaving
kicked off; kick off; kick out; kicked out; drop me; dropped; throw me out; lose coverage; \
lose plan; cancel; cancelled; canceled; quit plan; leave plan; end plan; stop plan; \
get out plan => disenroll; end your membership; leaving the plan; disenrollment
switch plan; change plan; change plans; new plan; switch plans; pick plan; \
sign up; signup; join plan => enrollment period; Annual Enrollment Period; \
Open Enrollment Period; Special Enrollment Period
who can join; qualify; can get plan; who can get => eligibility; eligible; \
eligibility requirements
turning 65; turn 65; retire from work => Initial Enrollment Period; Medicare eligibility
keep plan; keep my plan; stay on plan; stay with plan; still be plan; still on plan => \
remain a member; stay a member; continue your membership

# complaints and disputes
complain; unhappy; upset; bad service; rude; poor care; unhappy care => grievance; complaint
fight; dispute; disagree; challenge; contest; denied; denial; turned down; refused; \
said no; won't pay; wont pay; not pay; rejected; overturn => appeal; coverage decision; \
reconsideration
fast answer; quick answer; urgent answer; hurry; quickly; asap; rush => \
fast appeal; expedited; fast coverage decision
normal decision; regular decision; usual decision; normal appeal; regular appeal; \
usual appeal; normal answer; regular answer; not urgent; non urgent => standard coverage decision; \
standard appeal; standard deadline
sent home; send home; discharged; kick hospital; leave hospital; go home hospital; \
let me go home; early discharge => discharge; hospital discharge; \
Important Message from Medicare; discharge date
scam; scammed; stealing; ripped off => fraud; report fraud
my records; my file; my information => medical records; \
protected health information; privacy
interpreter; spanish; translator; other language; my language => interpreter services; \
language assistance; free language services
large print; braille; blind; read print => alternate formats; large print; braille

# people and contact
customer service; help line; helpline; call plan; phone plan; reach plan; talk someone; \
talk person; speak someone; contact plan; call insurance; customer care => Member Services
deaf line; hearing impaired line; text phone; cannot hear phone => TTY
nurse line; nurse hotline; talk nurse; ask nurse; nurse phone; nurse call => \
Nurse Advice Line
help medicare; medicare counselor; free advice medicare; ship counselor => \
State Health Insurance Assistance Program; SHIP
speak for me; act for me; daughter handle; son handle; power attorney; on my behalf => \
representative; appoint a representative; authorized representative
"""


@attrs.frozen
class _Entry:
    #: Each way a member says it, as the stems of its words.
    member: tuple[tuple[str, ...], ...]
    #: How the documents say it.
    booklet: tuple[str, ...]


def _lines(glossary: str) -> Iterable[tuple[list[str], list[str]]]:
    joined = glossary.replace("\\\n", " ")
    for number, line in enumerate(joined.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        said, arrow, written = line.partition("=>")
        member = [p.strip() for p in said.split(";") if p.strip()]
        booklet = [p.strip() for p in written.split(";") if p.strip()]
        if not arrow or not member or not booklet:
            raise ValueError(f"glossary line {number} is not 'member; ... => booklet; ...'")
        yield member, booklet


@attrs.frozen
class LayTerms:
    """The glossary, read through the index's notion of a word."""

    entries: tuple[_Entry, ...]
    words: Words

    @classmethod
    def of(cls, words: Words, glossary: str = GLOSSARY) -> LayTerms:
        """The glossary ``glossary`` (:data:`GLOSSARY` by default), its member phrases
        stemmed by ``words``. A line not of the form ``member; ... => booklet; ...``
        is a ``ValueError`` naming it."""
        entries = []
        for member, booklet in _lines(glossary):
            stems = tuple(tuple(words.stems(phrase)) for phrase in member)
            entries.append(_Entry(tuple(s for s in stems if s), tuple(booklet)))
        return cls(tuple(entries), words)

    def booklet_terms(self, question: str) -> tuple[str, ...]:
        """The booklet's terms for the member's phrases ``question`` holds, each once,
        in glossary order; empty when it holds none."""
        places = self._places(question)
        found: dict[str, None] = {}
        for entry in self.entries:
            if any(_holds(places, phrase) for phrase in entry.member):
                found.update(dict.fromkeys(entry.booklet))
        return tuple(found)

    def bridges(self, question: str) -> tuple[tuple[frozenset[str], tuple[str, ...]], ...]:
        """For each member's phrase ``question`` holds: the stems of its words, and the
        booklet's terms it stands for ("cap on what I spend": {cap, spend} and
        "maximum out-of-pocket amount"), in glossary order."""
        places = self._places(question)
        return tuple((frozenset(phrase), entry.booklet)
                     for entry in self.entries for phrase in entry.member
                     if _holds(places, phrase))

    def _places(self, question: str) -> dict[str, list[int]]:
        """Where each stem of ``question`` stands; a sentence starts farther from the
        one before than any phrase reaches."""
        places: dict[str, list[int]] = {}
        start = 0
        for sentence in sentences(question):
            said = self.words.stems(sentence)
            for position, stem in enumerate(said, start=start):
                places.setdefault(stem, []).append(position)
            start += len(said) + _APART
        return places

    def expansion(self, question: str) -> str:
        """The booklet's terms for ``question``, as one text ("" for none)."""
        return "; ".join(self.booklet_terms(question))


def _holds(places: dict[str, list[int]], phrase: Sequence[str]) -> bool:
    """Each of ``phrase``'s words is in the question, all within the phrase's length
    plus :data:`SLACK` words of each other."""
    if not phrase or any(stem not in places for stem in phrase):
        return False
    reach = len(phrase) + SLACK
    first, *rest = phrase
    return any(all(any(abs(p - start) < reach for p in places[stem]) for stem in rest)
               for start in places[first])
