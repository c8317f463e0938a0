using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

public class GuardChecksTests
{
    private const string Lee = "dr.lee@endo-specialists.example";
    private const string Lab = "cases@crown-lab.example";

    private static readonly GuardKnowledge Known = new(
        [Lee, Lab, "jane.doe@gmail.com"],
        ["trusted-partner.example"],
        [(Lee, "Dr. Amy Lee"), (Lab, "Crown Lab")]);

    private static GuardChecks Checks(GuardOptions? options = null) => new(options ?? new GuardOptions(), ["smiledental.example"]);

    private static GuardSubject To(params string[] recipients) =>
        new(recipients, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase), new Dictionary<string, IReadOnlyList<string>>());

    private static GuardVerdict One(GuardSubject subject, GuardKnowledge? known = null, GuardOptions? options = null) =>
        Checks(options).Check(subject, known ?? Known).Single();

    [Test]
    public void Check_KnownRecipient_Passes()
    {
        var verdict = One(To(Lee));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Pass));
        Assert.That(verdict.Reasons, Is.Empty);
    }

    [Test]
    public void Check_KnownRecipientWrittenInOtherCase_Passes() =>
        Assert.That(One(To("Dr.Lee@Endo-Specialists.Example")).Outcome, Is.EqualTo(GuardOutcome.Pass));

    [TestCase("dr.lee@endo-specialsts.example")]
    [TestCase("dr.lee@endo-specialitss.example")]
    [TestCase("someone@endo-specialists.exampel")]
    public void Check_TypoOfAKnownDomain_HeldAsLookalikeNamingTheKnownDomain(string recipient)
    {
        var verdict = One(To(recipient));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Hold));
        var reason = verdict.Reasons.First(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Related, Is.EqualTo("endo-specialists.example"));
        Assert.That(reason.Text, Is.EqualTo("looks like endo-specialists.example, which you have sent to before"));
    }

    [Test]
    public void Check_ConfusableLettersOfAKnownDomain_HeldAndSaysTheLettersLookAlike()
    {
        var verdict = One(To("cases@crovvn-lab.example"));
        var reason = verdict.Reasons.Single(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Text, Is.EqualTo("uses letters that look like crown-lab.example, which you have sent to before"));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Hold));
    }

    [Test]
    public void Check_PunycodeConfusableOfAKnownDomain_Held()
    {
        var verdict = One(To("dr.lee@xn--ndo-specialists-3nm.example"));
        Assert.That(verdict.Reasons.Select(r => r.Check), Does.Contain(GuardCheck.Lookalike), "Cyrillic е in place of e");
    }

    [Test]
    public void Check_TypoOfAWebmailDomain_HeldAsLookalike()
    {
        var verdict = One(To("jane.doe@gmial.com"));
        Assert.That(verdict.Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo("gmail.com"));
    }

    [Test]
    public void Check_KnownLocalPartAtAnUnknownDomain_HeldAsTheAutoCompletePattern()
    {
        var verdict = One(To("dr.lee@yahoo.com"));
        var reason = verdict.Reasons.Single(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Related, Is.EqualTo(Lee));
        Assert.That(reason.Text, Is.EqualTo($"is not {Lee}, the address with that name you have sent to before"));
    }

    // Every shared mailbox name, one case each: a name dropped from the list would make each
    // practice's "referrals@" look like a misdirected copy of another's.
    private static readonly string[] GenericMailboxNames =
    [
        "info", "office", "admin", "contact", "mail", "email", "hello", "reception", "frontdesk", "front.desk", "support",
        "billing", "accounts", "referrals", "referral", "appointments", "scheduling", "records", "imaging", "xray", "xrays",
        "lab", "team", "staff", "dentist", "doctor", "noreply", "no-reply", "cases", "orders", "rx", "scans", "radiology", "clinic",
    ];

    [TestCaseSource(nameof(GenericMailboxNames))]
    public void Check_GenericMailboxNameAtAnotherDomain_IsNoLookalike(string local)
    {
        var known = new GuardKnowledge([local + "@crown-lab.example"], [], []);
        var verdict = One(To(local + "@city-imaging.example"), known);
        Assert.That(verdict.Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.Lookalike));
    }

    [Test]
    public void Check_PersonalMailboxNameAtAnotherDomain_IsALookalike()
    {
        // The counterpart of the generic names: the same known-name-elsewhere pattern does hold.
        var known = new GuardKnowledge(["amy.lee@crown-lab.example"], [], []);
        Assert.That(One(To("amy.lee@city-imaging.example"), known).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related,
            Is.EqualTo("amy.lee@crown-lab.example"));
    }

    [Test]
    public void Check_KnownMailboxNameAtASubdomainOfTheRecipientsDomain_StillTheAutoCompletePattern()
    {
        // dr.lee@uk.crown-lab.example ends with "crown-lab.example" but is not at that domain.
        var known = new GuardKnowledge(["dr.lee@uk.crown-lab.example"], [], []);
        var reason = One(To("dr.lee@crown-lab.example"), known).Reasons.Single(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Related, Is.EqualTo("dr.lee@uk.crown-lab.example"));
    }

    [Test]
    public void Check_DisplayNameOfAKnownContactAtASubdomainOfTheRecipientsDomain_HeldAsLookalikeSayingWhose()
    {
        var known = new GuardKnowledge(["amy@uk.crown-lab.example"], [], [("amy@uk.crown-lab.example", "Dr Amy Lee")]);
        var subject = new GuardSubject(["amy.lee@crown-lab.example"],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["amy.lee@crown-lab.example"] = "Dr. Amy Lee" },
            new Dictionary<string, IReadOnlyList<string>>());
        var reason = One(subject, known).Reasons.Single(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Related, Is.EqualTo("amy@uk.crown-lab.example"));
        Assert.That(reason.Text, Is.EqualTo("carries the name of amy@uk.crown-lab.example, a different address you have sent to before"));
        Assert.That(reason.Action, Is.EqualTo(GuardAction.Hold));
    }

    [Test]
    public void Check_ConfusableWithTwoKnownDomains_NamesTheFirstInOrdinalOrder()
    {
        // dentaicare and dentalcare share a skeleton; denta1care looks like both.
        var known = new GuardKnowledge(["a@dentalcare.example", "b@dentaicare.example"], [], []);
        Assert.That(One(To("x@denta1care.example"), known).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo("dentaicare.example"));
    }

    [Test]
    public void Check_EquallyNearTwoKnownDomains_NamesTheFirstInOrdinalOrder()
    {
        var known = new GuardKnowledge(["a@molarlabb.example", "b@molarlaba.example"], [], []);
        Assert.That(One(To("x@molarlab.example"), known).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo("molarlaba.example"));
    }

    [Test]
    public void Check_EquallyNearTwoWebmailDomains_NamesTheFirstInOrdinalOrder()
    {
        var options = new GuardOptions { WebmailDomains = ["mailb.example", "maila.example"] };
        Assert.That(One(To("x@mail.example"), GuardKnowledge.Empty, options).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related,
            Is.EqualTo("maila.example"), "whatever order the configuration lists them in");
    }

    [Test]
    public void Check_DisplayNameOfAKnownContactOnAnotherAddress_HeldAsLookalike()
    {
        var subject = new GuardSubject(["amy@other-clinic.example"],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["amy@other-clinic.example"] = "dr amy lee" },
            new Dictionary<string, IReadOnlyList<string>>());
        var verdict = One(subject);
        Assert.That(verdict.Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo(Lee));
    }

    [Test]
    public void Check_DisplayNameOfAColleagueAtTheSameDomain_IsNoLookalike()
    {
        var known = new GuardKnowledge(["office@crown-lab.example"], [], [("office@crown-lab.example", "Crown Lab")]);
        var subject = new GuardSubject(["orders@crown-lab.example"],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["orders@crown-lab.example"] = "Crown Lab" },
            new Dictionary<string, IReadOnlyList<string>>());
        Assert.That(One(subject, known).Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.Lookalike));
    }

    [Test]
    public void Check_UnknownDomainFarFromEveryKnownOne_OnlyFlaggedAsNew()
    {
        var verdict = One(To("referrals@brand-new-orthodontics.example"));
        Assert.That(verdict.Reasons.Select(r => r.Check), Is.EqualTo(new[] { GuardCheck.NewRecipient }));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Flag), "a new recipient is flagged, not held, by default");
    }

    [Test]
    public void Check_NewAddressAtADomainITVouchesFor_NeitherNewNorLookalike() =>
        Assert.That(One(To("dr.kim@trusted-partner.example")).Outcome, Is.EqualTo(GuardOutcome.Pass));

    [Test]
    public void Check_NewAddressAtADomainKnownFromHistory_FlaggedAsNewButNoLookalike()
    {
        var verdict = One(To("dr.park@endo-specialists.example"));
        Assert.That(verdict.Reasons.Select(r => r.Check), Is.EqualTo(new[] { GuardCheck.NewRecipient }));
    }

    [Test]
    public void Check_ThePracticesOwnMailbox_AlwaysPasses() =>
        Assert.That(One(To("billing@smiledental.example"), GuardKnowledge.Empty).Outcome, Is.EqualTo(GuardOutcome.Pass));

    [Test]
    public void Check_TypoOfThePracticesOwnDomain_HeldAsLookalike() =>
        Assert.That(One(To("billing@smiledentel.example"), GuardKnowledge.Empty).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related,
            Is.EqualTo("smiledental.example"));

    [Test]
    public void Check_PatientWentToAnotherAddressBefore_FlagsTheNewOneNamingTheOther()
    {
        var subject = new GuardSubject([Lab],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["hash-p1"] = [Lee] });
        var verdict = One(subject);
        var reason = verdict.Reasons.Single();
        Assert.That(reason.Check, Is.EqualTo(GuardCheck.NewPatientRecipient));
        Assert.That(reason.Text, Is.EqualTo($"has not received this patient's images before; {Lee} has"));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Flag));
    }

    [Test]
    public void Check_PatientWentToThisAddressBefore_NoPatientReason()
    {
        var subject = new GuardSubject([Lee],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["hash-p1"] = [Lee.ToUpperInvariant(), Lab] });
        Assert.That(One(subject).Reasons, Is.Empty);
    }

    [Test]
    public void Check_PatientNeverSentBefore_NoPatientReason()
    {
        var subject = new GuardSubject([Lab],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["hash-p1"] = [] });
        Assert.That(One(subject).Reasons, Is.Empty);
    }

    [Test]
    public void Check_KnownPartnerAndWebmailInOneMessage_FlagsTheWebmailRecipient()
    {
        var verdicts = Checks().Check(To(Lee, "jane.doe@gmail.com"), Known);
        Assert.That(verdicts[0].Reasons, Is.Empty, "the partner");
        var reason = verdicts[1].Reasons.Single();
        Assert.That(reason.Check, Is.EqualTo(GuardCheck.MixedAudience));
        Assert.That(reason.Text, Is.EqualTo($"is a personal mailbox (gmail.com) in a message that also goes to {Lee}"));
    }

    [Test]
    public void Check_MoreRecipientsThanTheLimit_FlagsEveryOutsideRecipient()
    {
        var options = new GuardOptions { MaxRecipients = 2, NewRecipient = GuardAction.Off };
        var verdicts = Checks(options).Check(To(Lee, Lab, "jane.doe@gmail.com", "frontdesk@smiledental.example"), Known);
        Assert.That(verdicts.Take(3).Select(v => v.Reasons.Single().Text), Is.All.EqualTo("is one of 3 recipients of the same images"));
        Assert.That(verdicts[3].Reasons, Is.Empty, "the practice's own mailbox does not count");
    }

    [Test]
    public void Check_AtTheRecipientLimit_NoMixedAudienceReason()
    {
        var options = new GuardOptions { MaxRecipients = 2 };
        Assert.That(Checks(options).Check(To(Lee, Lab), Known).SelectMany(v => v.Reasons), Is.Empty);
    }

    [Test]
    public void Check_ChecksSetOff_NoReasonsOfThem()
    {
        var off = new GuardOptions { Lookalike = GuardAction.Off, NewRecipient = GuardAction.Off, NewPatientRecipient = GuardAction.Off, MixedAudience = GuardAction.Off };
        var subject = new GuardSubject(["dr.lee@endo-specialsts.example", "jane.doe@gmail.com", Lee],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["p"] = [Lab] });
        Assert.That(Checks(off).Check(subject, Known).SelectMany(v => v.Reasons), Is.Empty);
    }

    [Test]
    public void Check_LookalikeSetToFlag_FlagsInsteadOfHolding()
    {
        var verdict = One(To("dr.lee@endo-specialsts.example"), options: new GuardOptions { Lookalike = GuardAction.Flag });
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Flag));
    }

    [Test]
    public void Check_NewRecipientSetToHold_HoldsAnUnknownAddress() =>
        Assert.That(One(To("x@far-away.example"), options: new GuardOptions { NewRecipient = GuardAction.Hold }).Outcome, Is.EqualTo(GuardOutcome.Hold));

    [Test]
    public void Check_RecipientWithoutADomain_HeldAsUnreadable()
    {
        var verdict = One(To("postmaster"));
        Assert.That(verdict.Outcome, Is.EqualTo(GuardOutcome.Hold), "an address the checks cannot read cannot be shown to be the intended one");
    }

    [Test]
    public void Check_KnownMailboxNameAtAWebmailDomainOthersUse_StillTheAutoCompletePattern()
    {
        // gmail.com is known (a patient's address), but a webmail domain says nothing about who is behind it.
        var verdict = One(To("dr.lee@gmail.com"));
        Assert.That(verdict.Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo(Lee));
    }

    [Test]
    public void Check_AWebmailDomainItself_IsNoTypoOfAnother()
    {
        // mail.com is one edit from gmail.com, and both are real mailboxes.
        var verdict = One(To("someone@mail.com"), GuardKnowledge.Empty);
        Assert.That(verdict.Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.Lookalike));
    }

    [Test]
    public void Check_KnownMailboxNameAtAVouchedDomain_IsNoLookalike() =>
        Assert.That(One(To("dr.lee@trusted-partner.example")).Reasons, Is.Empty, "IT vouches for the domain");

    [TestCase("billing@smi1edental.example", "smiledental.example")]
    [TestCase("jane@gmai1.com", "gmail.com")]
    public void Check_LookAlikeLettersOfThePracticeOrWebmail_HeldNamingIt(string recipient, string genuine)
    {
        var reason = One(To(recipient), GuardKnowledge.Empty).Reasons.Single(r => r.Check == GuardCheck.Lookalike);
        Assert.That(reason.Related, Is.EqualTo(genuine));
        Assert.That(reason.Text, Does.StartWith("uses letters that look like"));
    }

    [Test]
    public void Check_TwoEditsFromAKnownDomain_StillALookalike() =>
        Assert.That(One(To("dr.lee@endo-specalsts.example")).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related, Is.EqualTo("endo-specialists.example"));

    [Test]
    public void Check_ThreeEditsFromAKnownDomain_NoLookalike() =>
        Assert.That(One(To("dr.kim@endo-specalsts.exampl")).Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.Lookalike));

    [Test]
    public void Check_NearTwoKnownDomains_NamesTheCloserOne()
    {
        // molarlabx.example: one edit from molarlab.example, two from molarlabxyz.example.
        var known = new GuardKnowledge(["a@molarlabxyz.example", "b@molarlab.example"], [], []);
        Assert.That(One(To("x@molarlabx.example"), known).Reasons.Single(r => r.Check == GuardCheck.Lookalike).Related,
            Is.EqualTo("molarlab.example"), "one edit beats two, whichever is listed first");
    }

    [Test]
    public void Check_TwoPatientsBothSentElsewhere_OnePatientReasonNamingTheFirstPatientsRecipient()
    {
        // Listed out of order: the reason follows the ordinal order of the patients' keyed hashes.
        var subject = new GuardSubject([Lab],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["p2"] = [Lee], ["p1"] = ["other@endo-specialists.example"] });
        var reason = One(subject).Reasons.Single(r => r.Check == GuardCheck.NewPatientRecipient);
        Assert.That(reason.Related, Is.EqualTo("other@endo-specialists.example"));
    }

    [Test]
    public void Check_PatientWentToSeveralOtherAddresses_NamesTheFirstInOrder()
    {
        var subject = new GuardSubject([Lab],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase),
            new Dictionary<string, IReadOnlyList<string>> { ["p1"] = ["zed@endo-specialists.example", "Amy@endo-specialists.example"] });
        Assert.That(One(subject).Reasons.Single(r => r.Check == GuardCheck.NewPatientRecipient).Related, Is.EqualTo("Amy@endo-specialists.example"));
    }

    [Test]
    public void Check_UnknownDisplayName_NoLookalike()
    {
        var subject = new GuardSubject(["x@far-away.example"],
            new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["x@far-away.example"] = "Someone New" },
            new Dictionary<string, IReadOnlyList<string>>());
        Assert.That(One(subject).Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.Lookalike));
    }

    [Test]
    public void Check_EveryRecipientGetsOneVerdictInOrder()
    {
        var verdicts = Checks().Check(To(Lab, Lee, "x@far-away.example"), Known);
        Assert.That(verdicts.Select(v => v.Recipient), Is.EqualTo(new[] { Lab, Lee, "x@far-away.example" }));
    }
}
