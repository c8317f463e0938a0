using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Tests.Logging;

/// <summary>
/// DESIGN invariant 5 over every log event the gateway defines: fixed ids, never reused, and no
/// addresses, content, file names, patient data or secrets above Debug.
/// </summary>
public class LogTemplateTests
{
    /// <summary>
    /// Each stage owns a block of event ids, so an id says where it came from. A namespace may hold
    /// more than one block when events moved with their classes (ids are never renumbered).
    /// </summary>
    private static readonly Dictionary<string, (int From, int To)[]> Ranges = new()
    {
        ["PhiMailGateway.Ingress"] = [(1000, 1999)],
        ["PhiMailGateway.Spool"] = [(2000, 2999)],
        // Core's queue (2000s) and the executable's queue worker, whose events began in Processing (3000s).
        ["PhiMailGateway.Queue"] = [(2000, 2999), (3000, 3999)],
        ["PhiMailGateway.Pipeline"] = [(3000, 3999)],
        ["PhiMailGateway.Relay"] = [(4000, 4999)],
        ["PhiMailGateway.Inspection"] = [(5100, 5199)],
        ["PhiMailGateway.Routing"] = [(5200, 5299)],
        ["PhiMailGateway.Audit"] = [(6000, 6999)],
        ["PhiMailGateway.Protection.Smime"] = [(8000, 8999)],
        ["PhiMailGateway.Certificates"] = [(8000, 8999)],
        ["PhiMailGateway.PickupWeb"] = [(7000, 7999)],
        ["PhiMailGateway.Protection.Pickup"] = [(7000, 7999)],
        ["PhiMailGateway.Hosting"] = [(9000, 9049)],
        ["PhiMailGateway.Health"] = [(9050, 9099)],
    };

    /// <summary>
    /// Ingress events that name the staff user name above Debug: the lockouts (IT has to know whose
    /// account is locked to run `users unlock`) and the accept line (whose mail a queue id is), issue 22.
    /// A practice's SMTP account name is not patient data; any other event with {UserName} above Debug
    /// still fails.
    /// </summary>
    private static readonly HashSet<int> LockoutEventsWithUserName = [1010, 1034, 1100, 1200];

    private static readonly string[] Forbidden =
        ["Sender", "Recipient", "Address", "From", "User", "Subject", "Body", "Password", "Token", "Helo", "FileName", "Patient", "Response", "Detail"];

    private static IEnumerable<(MethodInfo Method, LoggerMessageAttribute Attribute)> LogMethods() =>
        new[] { typeof(PhiMailGateway.Spool.SpoolFile).Assembly, typeof(PhiMailGateway.Hosting.GatewayHost).Assembly }
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()!))
            .Where(x => x.Attribute is not null);

    [Test]
    public void LogEvents_Ids_AreUniqueAcrossTheGatewayAndInTheirStageRange()
    {
        var methods = LogMethods().ToList();
        Assert.That(methods, Has.Count.GreaterThan(20));
        var duplicates = methods.GroupBy(m => m.Attribute.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method.DeclaringType!.Name + "." + m.Method.Name))}");
        Assert.That(duplicates, Is.Empty, "an event id names one event forever");
        foreach (var (method, attribute) in methods)
        {
            var ns = method.DeclaringType!.Namespace!;
            if (!Ranges.TryGetValue(ns, out var ranges)) continue;
            Assert.That(ranges.Any(r => attribute.EventId >= r.From && attribute.EventId <= r.To), Is.True,
                $"{method.DeclaringType.Name}.{method.Name} in {ns}: event {attribute.EventId} outside {string.Join(", ", ranges)}");
        }
    }

    [Test]
    public void LogEvents_AboveDebug_CarryNoAddressesContentOrSecrets()
    {
        foreach (var (method, attribute) in LogMethods().Where(m => m.Attribute.Level > LogLevel.Debug))
        {
            foreach (var name in Regex.Matches(attribute.Message, @"\{(\w+)\}").Select(m => m.Groups[1].Value))
            {
                // Counts are fine; so is the client's IP in security warnings (it is not an e-mail address).
                if (name.EndsWith("Count", StringComparison.Ordinal) || name == "ClientAddress") continue;
                if (name == "UserName" && LockoutEventsWithUserName.Contains(attribute.EventId)
                    && method.DeclaringType!.Namespace == "PhiMailGateway.Ingress") continue;
                Assert.That(Forbidden.Where(f => name.Contains(f, StringComparison.OrdinalIgnoreCase)), Is.Empty,
                    $"{method.DeclaringType!.Name}.{method.Name} (event {attribute.EventId}) logs {{{name}}} at {attribute.Level}");
            }
        }
    }
}
