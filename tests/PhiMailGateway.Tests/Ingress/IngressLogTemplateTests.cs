using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Ingress;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>DESIGN invariant 5 for ingress: log ids, counts, sizes and codes; never addresses above Debug, never content or secrets.</summary>
public class IngressLogTemplateTests
{
    private static IEnumerable<(MethodInfo Method, LoggerMessageAttribute Attribute)> IngressLogMethods() =>
        typeof(SmtpIngressService).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(SmtpIngressService).Namespace)
            .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()!))
            .Where(x => x.Attribute is not null);

    [Test]
    public void IngressLogTemplates_EventIds_AreUniqueAndInTheIngressRange()
    {
        var methods = IngressLogMethods().ToList();
        Assert.That(methods, Is.Not.Empty);
        Assert.That(methods.Select(m => m.Attribute.EventId), Is.Unique);
        Assert.That(methods.Select(m => m.Attribute.EventId), Has.All.InRange(1000, 1999));
    }

    [Test]
    public void IngressLogTemplates_AboveDebug_HaveNoAddressesContentOrSecrets()
    {
        string[] forbidden = ["Sender", "Recipient", "Address", "From", "User", "Subject", "Body", "Password", "Token", "Helo", "FileName"];
        foreach (var (method, attribute) in IngressLogMethods().Where(m => m.Attribute.Level > LogLevel.Debug))
        {
            foreach (var name in Regex.Matches(attribute.Message, @"\{(\w+)\}").Select(m => m.Groups[1].Value))
            {
                // Counts are fine; so is the client's IP in security warnings (it is not an e-mail address).
                if (name.EndsWith("Count", StringComparison.Ordinal) || name == "ClientAddress") continue;
                Assert.That(forbidden.Where(f => name.Contains(f, StringComparison.OrdinalIgnoreCase)), Is.Empty,
                    $"{method.DeclaringType!.Name}.{method.Name} (event {attribute.EventId}) logs {{{name}}} at {attribute.Level}");
            }
        }
    }
}
