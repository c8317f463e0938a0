using static PhiMailGateway.Bench.Guard.SyntheticNames;

namespace PhiMailGateway.Bench.Guard;

/// <summary>
/// The large practice (or group) of `guard-scale`: about 3,000 partner mailboxes in a few hundred
/// domains, one patient per 20 disclosures (30% with their own webmail address, 70% seeing one
/// partner and 30% two, popular partners getting most of them), and the stream of image messages
/// that fills the audit log. The same seed and size give the same world and stream, so a kept
/// database can be timed again without seeding: the history is replayed in memory only.
/// </summary>
internal sealed class ScaleWorld
{
    public const string PracticeDomain = "smiledental.example";
    public const string Sender = "office@" + PracticeDomain;

    public sealed record Contact(string Address, string? Name);

    public sealed record Patient(string PatientId, string Name, string BirthDate, Contact? Own, int[] Partners);

    /// <summary>One image message: one patient, one or two recipients (a disclosure each).</summary>
    public sealed record SeedMessage(int Patient, IReadOnlyList<Contact> Recipients);

    private static readonly string[] RoleMailboxes = ["referrals", "office", "cases", "imaging", "scans", "frontdesk", "records", "orders"];

    public List<Contact> Partners { get; } = [];
    public HashSet<string> PartnerDomains { get; } = new(StringComparer.Ordinal);
    public List<Patient> Patients { get; } = [];

    /// <summary>What the seeded log holds as delivered: per patient the addresses, and every address.</summary>
    public Dictionary<int, HashSet<string>> PatientHistory { get; } = [];
    public HashSet<string> Delivered { get; } = new(StringComparer.Ordinal);

    public static ScaleWorld Create(int seed, int disclosures, int partnerAddresses = 3000)
    {
        var random = new Random(seed);
        var world = new ScaleWorld();
        while (world.Partners.Count < partnerAddresses)
        {
            var domain = random.Next(3) switch
            {
                0 => $"{Surname(random)}{Pick(random, Specialties)}.example",
                1 => $"{Pick(random, Words)}{Surname(random)}-{Pick(random, Specialties)}.example",
                _ => $"{Pick(random, Words)}-{Pick(random, Words)}-{Pick(random, Specialties)}.example",
            };
            if (!world.PartnerDomains.Add(domain)) continue;
            // Group practices and labs: 2 to 15 mailboxes each, so 3,000 mailboxes make about 350 domains.
            var locals = new HashSet<string>(StringComparer.Ordinal);
            for (var i = random.Next(2, 16); i > 0 && world.Partners.Count < partnerAddresses; i--)
            {
                var surname = Surname(random);
                var first = Pick(random, Firsts);
                var (local, name) = random.Next(4) switch
                {
                    0 or 1 => ($"dr.{surname}", $"Dr. {Cap(first)} {Cap(surname)}"),
                    2 => ($"{first}.{surname}", $"{Cap(first)} {Cap(surname)}"),
                    _ => (Pick(random, RoleMailboxes), string.Join(' ', domain[..domain.IndexOf('.')].Split('-').Select(Cap))),
                };
                if (locals.Add(local)) world.Partners.Add(new Contact($"{local}@{domain}", name));
            }
        }
        for (var p = 0; p < Math.Max(1, disclosures / 20); p++)
        {
            var own = random.NextDouble() < 0.3 ? new Contact($"{Pick(random, Firsts)}.{Surname(random)}{random.Next(10, 99)}@{Pick(random, Webmail)}", null) : null;
            var count = random.NextDouble() < 0.7 ? 1 : 2;
            var partners = Enumerable.Range(0, count).Select(_ => Popular(random, partnerAddresses)).Distinct().ToArray();
            var birth = new DateOnly(1940, 1, 1).AddDays(random.Next(30_000));
            world.Patients.Add(new Patient($"BENCH-{p:D7}", $"TEST^PATIENT{p}", birth.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture), own, partners));
        }
        return world;
    }

    /// <summary>The next message of the seeded history (<see cref="Learn"/> it once it is delivered).</summary>
    public SeedMessage NextSeedMessage(Random random)
    {
        var patientIndex = random.Next(Patients.Count);
        var patient = Patients[patientIndex];
        var roll = random.NextDouble();
        IReadOnlyList<Contact> recipients =
            roll < 0.10 && patient.Own is { } own ? [own]
            : roll < 0.16 && patient.Partners.Length > 1 ? patient.Partners.Select(i => Partners[i]).ToList()
            : [Partners[patient.Partners[random.Next(patient.Partners.Length)]]];
        return new SeedMessage(patientIndex, recipients);
    }

    /// <summary>The message was delivered: its recipients now had images, and this patient's.</summary>
    public void Learn(SeedMessage message)
    {
        if (!PatientHistory.TryGetValue(message.Patient, out var history)) PatientHistory[message.Patient] = history = new HashSet<string>(StringComparer.Ordinal);
        foreach (var r in message.Recipients)
        {
            history.Add(r.Address);
            Delivered.Add(r.Address);
        }
    }

    /// <summary>What a timed message is: each kind meets another part of the guard.</summary>
    public enum Kind
    {
        /// <summary>A partner that received this patient before: passes.</summary>
        KnownPartner,

        /// <summary>An address never written to (a patient's webmail, a partner's new mailbox, a new practice, a third each): flagged as new.</summary>
        NewAddress,

        /// <summary>A known partner's mailbox at a domain a typo away: held.</summary>
        Lookalike,

        /// <summary>A known partner that never received this patient: flagged as new for the patient.</summary>
        PatientMismatch,
    }

    /// <summary>A timed message of <paramref name="kind"/>, about a patient the log has history for.</summary>
    public (int Patient, Contact Recipient) NextTimed(Random random, Kind kind)
    {
        while (true)
        {
            var patientIndex = random.Next(Patients.Count);
            if (!PatientHistory.TryGetValue(patientIndex, out var history)) continue;
            var patient = Patients[patientIndex];
            switch (kind)
            {
                case Kind.KnownPartner:
                    var partners = patient.Partners.Select(i => Partners[i]).Where(c => history.Contains(c.Address)).ToList();
                    if (partners.Count == 0) continue;
                    return (patientIndex, partners[random.Next(partners.Count)]);
                case Kind.PatientMismatch:
                    var other = Partners[Popular(random, Partners.Count)];
                    if (history.Contains(other.Address) || !Delivered.Contains(other.Address)) continue;
                    return (patientIndex, other);
                case Kind.Lookalike:
                    var meant = Partners[patient.Partners[random.Next(patient.Partners.Length)]];
                    if (!history.Contains(meant.Address)) continue;
                    var at = meant.Address.IndexOf('@');
                    var domain = meant.Address[(at + 1)..];
                    var typo = Typo(random, domain);
                    if (PartnerDomains.Contains(typo)) continue;
                    return (patientIndex, meant with { Address = meant.Address[..at] + "@" + typo });
                default:
                    // As new addresses come: a patient's own webmail, a new mailbox at a partner, a practice never written to.
                    var surname = Surname(random);
                    var person = $"Dr. {Cap(Pick(random, Firsts))} {Cap(surname)}";
                    var address = random.Next(3) switch
                    {
                        0 => new Contact($"{Pick(random, Firsts)}.{surname}{random.Next(100, 999)}@{Pick(random, Webmail)}", null),
                        1 => new Contact($"dr.{surname}{random.Next(10, 99)}@{Partners[random.Next(Partners.Count)].Address.Split('@')[1]}", person),
                        _ => new Contact($"dr.{surname}@{Pick(random, Words)}{Surname(random)}{random.Next(100, 999)}-{Pick(random, Specialties)}.example", person),
                    };
                    if (Delivered.Contains(address.Address)) continue;
                    return (patientIndex, address);
            }
        }
    }

    /// <summary>A letter left out, two swapped or one doubled in the domain's first label.</summary>
    private static string Typo(Random random, string domain)
    {
        var dot = domain.IndexOf('.');
        var label = domain[..dot];
        var i = random.Next(1, label.Length - 1);
        var wrong = random.Next(3) switch
        {
            0 => label.Remove(i, 1),
            1 => label[..i] + label[i + 1] + label[i] + label[(i + 2)..],
            _ => label.Insert(i, label[i].ToString()),
        };
        if (wrong == label) wrong = label + "s";
        return wrong + domain[dot..];
    }

    private static int Popular(Random random, int count) => (int)(count * Math.Pow(random.NextDouble(), 2));
}
