using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace PhiMailGateway.Routing;

/// <summary>
/// Holds the rules in force. At start-up invalid rules stop the gateway (the errors name rule and
/// field). Afterwards the rules are re-read whenever the configuration file changes; an invalid new
/// version is refused with an error log and the rules already in force stay.
/// </summary>
public sealed partial class RuleSetProvider : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly IReadOnlyCollection<string> _knownImageKinds;
    private readonly ILogger<RuleSetProvider> _logger;
    private readonly IDisposable _subscription;
    private readonly RuleSet _builtInDefault;
    private RuleSet _current;

    /// <param name="builtInDefault">The rules when the configuration has none; default <see cref="RuleSet.BuiltInDefault"/>.</param>
    public RuleSetProvider(IConfiguration configuration, IReadOnlyCollection<string> knownImageKinds, ILogger<RuleSetProvider> logger, RuleSet? builtInDefault = null)
    {
        _configuration = configuration;
        _knownImageKinds = knownImageKinds;
        _logger = logger;
        _builtInDefault = builtInDefault ?? RuleSet.BuiltInDefault;
        var result = RuleSetParser.Parse(configuration, knownImageKinds, _builtInDefault);
        if (result.RuleSet is null)
            throw new OptionsValidationException(RuleSetParser.Section, typeof(RuleSet), result.Errors);
        _current = result.RuleSet;
        LogLoaded(logger, _current.Rules.Count, _current.IsBuiltInDefault);
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    public RuleSet Current => Volatile.Read(ref _current);

    /// <summary>Raised after a new valid rule set took effect (tests wait on it).</summary>
    public event Action<RuleSet>? Reloaded;

    private void Reload()
    {
        var result = RuleSetParser.Parse(_configuration, _knownImageKinds, _builtInDefault);
        if (result.RuleSet is null)
        {
            foreach (var error in result.Errors) LogRefused(_logger, error);
            return;
        }
        if (result.RuleSet.Rules.SequenceEqual(_current.Rules, RuleComparer.Instance)) return;
        Volatile.Write(ref _current, result.RuleSet);
        LogLoaded(_logger, result.RuleSet.Rules.Count, result.RuleSet.IsBuiltInDefault);
        Reloaded?.Invoke(result.RuleSet);
    }

    public void Dispose() => _subscription.Dispose();

    /// <summary>Records hold lists, which compare by reference; rules compare by what they say.</summary>
    private sealed class RuleComparer : IEqualityComparer<RoutingRule>
    {
        public static readonly RuleComparer Instance = new();

        public bool Equals(RoutingRule? x, RoutingRule? y) =>
            x is not null && y is not null && Describe(x) == Describe(y);

        public int GetHashCode(RoutingRule obj) => Describe(obj).GetHashCode(StringComparison.Ordinal);

        private static string Describe(RoutingRule r) => System.Text.Json.JsonSerializer.Serialize(r);
    }

    // Rule errors name rules and fields, which IT wrote; they carry no message content.
    [LoggerMessage(EventId = 5201, Level = LogLevel.Error, Message = "Changed routing rules refused, the previous rules stay in force: {Error}")]
    private static partial void LogRefused(ILogger logger, string error);

    [LoggerMessage(EventId = 5202, Level = LogLevel.Information, Message = "Routing rules in force: {Count} rules (built-in default: {IsDefault})")]
    private static partial void LogLoaded(ILogger logger, int count, bool isDefault);
}
