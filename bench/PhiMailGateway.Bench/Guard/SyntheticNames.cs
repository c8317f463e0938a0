namespace PhiMailGateway.Bench.Guard;

/// <summary>
/// Names for the guard benches' synthetic practices (`guard-replay`, `guard-scale`): domains,
/// mailboxes and people as a region's dental practices and labs have them. Synthetic only.
/// </summary>
internal static class SyntheticNames
{
    internal static readonly string[] Words =
    [
        "bright", "smile", "endo", "ortho", "perio", "oral", "dental", "crown", "bridge", "implant", "family", "valley", "river",
        "lake", "summit", "harbor", "cedar", "maple", "oak", "pine", "north", "south", "east", "west", "central", "city", "metro",
        "coastal", "prairie", "canyon", "sunrise", "gentle", "premier", "advanced", "precision", "digital", "lab", "imaging", "surgical",
        "kids", "care", "specialists", "associates", "group", "partners", "clinic", "studio", "works", "ceramics", "scan",
    ];
    // Pseudo-surnames from syllables: a few thousand distinct ones, as a region's practices have,
    // not a short list whose collisions would make every name look like every other.
    internal static readonly string[] Onsets = ["b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "ch", "sh", "br", "gr", "st"];
    internal static readonly string[] Vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou"];
    internal static readonly string[] Codas = ["", "n", "r", "s", "l", "m", "t", "rd", "ng", "ck"];

    internal static string Surname(Random random) =>
        string.Concat(Enumerable.Range(0, random.Next(2, 4)).Select(_ => Pick(random, Onsets) + Pick(random, Vowels))) + Pick(random, Codas);

    internal static readonly string[] Specialties = ["dental", "endo", "ortho", "perio", "oralsurgery", "dentallab", "imaging", "smiles", "dds"];

    internal static readonly string[] Firsts = ["amy", "ben", "carla", "dan", "eva", "frank", "grace", "hugo", "iris", "jon", "kate", "liam", "maya", "noah", "olga", "paul"];
    internal static readonly string[] Webmail = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "comcast.net"];

    internal static string Pick(Random random, string[] items) => items[random.Next(items.Length)];

    internal static string Cap(string s) => char.ToUpperInvariant(s[0]) + s[1..];
}
