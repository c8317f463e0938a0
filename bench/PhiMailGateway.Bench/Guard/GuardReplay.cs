using System.Diagnostics;
using System.Globalization;
using PhiMailGateway.Guard;
using static PhiMailGateway.Bench.Guard.SyntheticNames;

namespace PhiMailGateway.Bench.Guard;

/// <summary>
/// The guard's false-positive budget (issue 17): a seeded year of a practice's image mail — a few
/// hundred partner practices and labs, patients' own webmail, realistic repeat rates — with planted
/// mistakes (typo and look-alike domains, a known mailbox name at the wrong domain, a patient's
/// images to the wrong specialist), replayed through the guard's checks in order while what is
/// delivered becomes known. Prints, per check, the share of good copies held or flagged (all year
/// and after the first month) and the share of planted mistakes caught, and the checks' time per
/// message. Pure: no gateway, no database (the patient history is kept as the audit would).
/// </summary>
public static class GuardReplay
{
    public static int Run(BenchArgs args)
    {
        var seed = args.Number("seed") ?? 2026;
        var days = args.Number("days") ?? 250;
        var perDay = args.Number("per-day") ?? 16;
        var random = new Random(seed);
        var world = World.Create(random, partners: args.Number("partners") ?? 300, patients: args.Number("patients") ?? 4000);
        var checks = new GuardChecks(new GuardOptions(), [World.PracticeDomain]);

        var delivered = new HashSet<string>(StringComparer.Ordinal);
        var names = new HashSet<(string, string)>();
        var patientHistory = new Dictionary<int, HashSet<string>>();
        var knowledge = GuardKnowledge.Empty;
        var dirty = false;
        var tally = new Tally();
        var watch = new Stopwatch();
        var messages = 0;
        var show = args.Number("show") ?? 0;

        for (var day = 0; day < days; day++)
        {
            for (var n = 0; n < perDay; n++)
            {
                var message = world.NextMessage(random, day);
                if (dirty)
                {
                    knowledge = new GuardKnowledge(delivered, [], names);
                    dirty = false;
                }
                var history = patientHistory.GetValueOrDefault(message.Patient);
                var subject = new GuardSubject(message.Recipients.Select(r => r.Address).ToList(),
                    message.Recipients.Where(r => r.Name is not null).ToDictionary(r => r.Address, r => r.Name!, StringComparer.OrdinalIgnoreCase),
                    new Dictionary<string, IReadOnlyList<string>> { ["p" + message.Patient] = history?.ToList() ?? [] });
                watch.Start();
                var verdicts = checks.Check(subject, knowledge);
                watch.Stop();
                messages++;

                for (var i = 0; i < verdicts.Count; i++)
                {
                    var recipient = message.Recipients[i];
                    // A typo of a partner never written to before has nothing to look like yet.
                    var kind = recipient.Intended is { } meant && !delivered.Any(a => a.EndsWith(meant[meant.IndexOf('@')..], StringComparison.Ordinal))
                        ? Mistakes.OfUnknown : recipient.Mistake;
                    tally.Count(kind, verdicts[i], afterFirstMonth: day >= 21);
                    if (show > 0 && recipient.Mistake == Good && verdicts[i].Outcome == GuardOutcome.Hold)
                    {
                        show--;
                        Console.WriteLine($"good but held: {recipient.Address}: {string.Join("; ", verdicts[i].Reasons.Select(r => r.Text))}");
                    }
                    // What the audit then holds as delivered: a held good copy is confirmed by its
                    // sender ("Send anyway") and goes; a held mistake is cancelled; a typo domain that
                    // got through bounces (it does not exist); a wrong but real partner receives it.
                    var held = verdicts[i].Outcome == GuardOutcome.Hold;
                    var bounces = recipient.Mistake is Mistakes.Typo or Mistakes.Confusable;
                    if (recipient.Mistake == Good ? false : held || bounces) continue;
                    dirty |= delivered.Add(recipient.Address);
                    if (recipient.Name is not null) dirty |= names.Add((recipient.Address, recipient.Name));
                    if (!patientHistory.TryGetValue(message.Patient, out var set)) patientHistory[message.Patient] = set = [];
                    set.Add(recipient.Address);
                }
            }
        }

        tally.Print(messages, watch.Elapsed, delivered.Count, seed);
        return 0;
    }

    private sealed class Tally
    {
        private sealed class Row
        {
            public int Total;
            public int Held;
            public int Flagged;
            public readonly Dictionary<GuardCheck, (int Held, int Flagged)> ByCheck = [];
        }

        private readonly Dictionary<string, Row> _rows = new(StringComparer.Ordinal);

        public void Count(string kind, GuardVerdict verdict, bool afterFirstMonth)
        {
            Add(kind, verdict);
            if (kind == Good && afterFirstMonth) Add(GoodAfterFirstMonth, verdict);
        }

        private void Add(string kind, GuardVerdict verdict)
        {
            if (!_rows.TryGetValue(kind, out var row)) _rows[kind] = row = new Row();
            row.Total++;
            if (verdict.Outcome == GuardOutcome.Hold) row.Held++;
            if (verdict.Outcome == GuardOutcome.Flag) row.Flagged++;
            foreach (var reason in verdict.Reasons.DistinctBy(r => r.Check))
            {
                var c = row.ByCheck.GetValueOrDefault(reason.Check);
                row.ByCheck[reason.Check] = reason.Action == GuardAction.Hold ? (c.Held + 1, c.Flagged) : (c.Held, c.Flagged + 1);
            }
        }

        public void Print(int messages, TimeSpan checkTime, int knownAddresses, int seed)
        {
            Console.WriteLine($"guard-replay: seed {seed}, {messages:N0} messages with images, {knownAddresses:N0} addresses known at the end");
            Console.WriteLine($"checks: {checkTime.TotalMilliseconds / messages:F3} ms per message (GuardChecks.Check, knowledge in memory)");
            Console.WriteLine();
            Console.WriteLine($"| copies | count | held | flagged | {string.Join(" | ", Enum.GetValues<GuardCheck>().Select(c => c + " h/f"))} |");
            Console.WriteLine($"| --- | ---: | ---: | ---: | {string.Join(" | ", Enum.GetValues<GuardCheck>().Select(_ => "---:"))} |");
            foreach (var kind in new[] { Good, GoodAfterFirstMonth, Mistakes.Typo, Mistakes.Confusable, Mistakes.AutoComplete, Mistakes.WrongSpecialist, Mistakes.OfUnknown })
            {
                if (!_rows.TryGetValue(kind, out var r)) continue;
                string Pct(int n) => (100.0 * n / r.Total).ToString("F1", CultureInfo.InvariantCulture) + "%";
                var byCheck = Enum.GetValues<GuardCheck>().Select(c => r.ByCheck.TryGetValue(c, out var v) ? $"{Pct(v.Held)}/{Pct(v.Flagged)}" : "-");
                Console.WriteLine($"| {kind} | {r.Total:N0} | {Pct(r.Held)} | {Pct(r.Flagged)} | {string.Join(" | ", byCheck)} |");
            }
        }
    }

    private const string Good = "good";
    private const string GoodAfterFirstMonth = "good, after day 21";

    private static class Mistakes
    {
        public const string Typo = "mistake: typo domain";
        public const string Confusable = "mistake: look-alike letters";
        public const string AutoComplete = "mistake: known name, wrong domain";
        public const string WrongSpecialist = "mistake: another partner for this patient";
        public const string OfUnknown = "mistake: typo of a partner not yet written to";
    }

    /// <param name="Intended">For a planted mistake, the address the sender meant.</param>
    private sealed record Recipient(string Address, string? Name, string Mistake, string? Intended = null);

    private sealed record Message(int Patient, IReadOnlyList<Recipient> Recipients);

    private sealed record Contact(string Address, string Name);

    private sealed class World
    {
        public const string PracticeDomain = "smiledental.example";

        private readonly List<List<Contact>> _partners = [];
        private readonly List<(Contact? Own, int[] Partners)> _patients = [];

        public static World Create(Random random, int partners, int patients)
        {
            var world = new World();
            var domains = new HashSet<string>(StringComparer.Ordinal);
            while (world._partners.Count < partners)
            {
                var domain = random.Next(3) switch
                {
                    0 => $"{Surname(random)}{Pick(random, Specialties)}.example",
                    1 => $"{Pick(random, Words)}{Surname(random)}-{Pick(random, Specialties)}.example",
                    _ => $"{Pick(random, Words)}-{Pick(random, Words)}-{Pick(random, Specialties)}.example",
                };
                if (!domains.Add(domain)) continue;
                var contacts = new List<Contact>();
                for (var i = random.Next(1, 4); i > 0; i--)
                {
                    var surname = Surname(random);
                    var first = Pick(random, Firsts);
                    var (local, name) = random.Next(3) switch
                    {
                        0 => ($"dr.{surname}", $"Dr. {Cap(first)} {Cap(surname)}"),
                        1 => ($"{first}.{surname}", $"{Cap(first)} {Cap(surname)}"),
                        _ => (Pick(random, ["referrals", "office", "cases", "imaging"]), string.Join(' ', domain[..domain.IndexOf('.')].Split('-').Select(Cap))),
                    };
                    if (contacts.All(c => !c.Address.StartsWith(local + "@", StringComparison.Ordinal))) contacts.Add(new Contact($"{local}@{domain}", name));
                }
                world._partners.Add(contacts);
            }
            for (var p = 0; p < patients; p++)
            {
                Contact? own = random.NextDouble() < 0.3
                    ? new Contact($"{Pick(random, Firsts)}.{Surname(random)}{random.Next(10, 99)}@{Pick(random, Webmail)}", "Patient " + p)
                    : null;
                // Most patients see one or two partners; popular partners get more patients.
                var count = random.NextDouble() < 0.7 ? 1 : 2;
                world._patients.Add((own, Enumerable.Range(0, count).Select(_ => Popular(random, partners)).Distinct().ToArray()));
            }
            return world;
        }

        public Message NextMessage(Random random, int day)
        {
            var patient = random.Next(_patients.Count);
            var (own, partners) = _patients[patient];
            var roll = random.NextDouble();
            var partner = _partners[partners[random.Next(partners.Length)]];
            var intended = partner[random.Next(partner.Count)];
            if (roll < 0.006) return new Message(patient, [Mistaken(random, intended, Mistakes.Typo)]);
            if (roll < 0.010) return new Message(patient, [Mistaken(random, intended, Mistakes.Confusable)]);
            if (roll < 0.014 && own is not null && intended.Address.Split('@')[0].StartsWith("dr.", StringComparison.Ordinal))
                return new Message(patient, [new Recipient(intended.Address.Split('@')[0] + "@" + own.Address.Split('@')[1], intended.Name, Mistakes.AutoComplete)]);
            if (roll < 0.020)
            {
                // Auto-complete picked another partner's address: known, but never this patient's.
                var other = _partners[Popular(random, _partners.Count)];
                var wrong = other[random.Next(other.Count)];
                if (!partners.Any(i => _partners[i].Contains(wrong))) return new Message(patient, [new Recipient(wrong.Address, wrong.Name, Mistakes.WrongSpecialist)]);
            }
            if (own is not null && roll > 0.90) return new Message(patient, [new Recipient(own.Address, null, Good)]);
            if (roll > 0.86 && partners.Length > 1)
                return new Message(patient, partners.Select(i => _partners[i][0]).Select(c => new Recipient(c.Address, c.Name, Good)).ToList());
            return new Message(patient, [new Recipient(intended.Address, intended.Name, Good)]);
        }

        private static Recipient Mistaken(Random random, Contact intended, string kind)
        {
            var (local, domain) = (intended.Address.Split('@')[0], intended.Address.Split('@')[1]);
            var label = domain[..domain.IndexOf('.')];
            string wrong;
            if (kind == Mistakes.Confusable)
                wrong = label.Contains('l') ? label.Replace('l', '1') : label.Contains('m') ? label.Replace("m", "rn") : label.Replace('o', '0');
            else
            {
                var i = random.Next(1, label.Length - 1);
                wrong = random.Next(3) switch
                {
                    0 => label.Remove(i, 1),                                          // a letter left out
                    1 => label[..i] + label[i + 1] + label[i] + label[(i + 2)..],     // two swapped
                    _ => label.Insert(i, label[i].ToString()),                       // one doubled
                };
            }
            if (wrong == label) wrong = label + "s";
            return new Recipient($"{local}@{wrong}{domain[domain.IndexOf('.')..]}", intended.Name, kind, intended.Address);
        }

        private static int Popular(Random random, int count) => (int)(count * Math.Pow(random.NextDouble(), 2));
    }
}
