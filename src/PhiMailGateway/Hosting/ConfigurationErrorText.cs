using System.Text.RegularExpressions;

namespace PhiMailGateway.Hosting;

/// <summary>
/// Turns the configuration binder's conversion error ("Failed to convert configuration value 'x' at
/// 'Relay:Mode' to type 'PhiMailGateway.Configuration.RelayMode'") into what IT can act on: the key,
/// the value, and what it may be (the valid names of an enum, a whole number, a duration).
/// </summary>
public static partial class ConfigurationErrorText
{
    public static string Describe(InvalidOperationException error)
    {
        var match = ConversionFailure().Match(error.Message);
        if (!match.Success) return error.Message;
        var (value, key, typeName) = (match.Groups["value"].Value, match.Groups["key"].Value, match.Groups["type"].Value);
        return $"{key}: '{value}' is not {Expected(typeName)}.";
    }

    private static string Expected(string typeName)
    {
        var type = Type.GetType(typeName)
            ?? AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null);
        type = type is null ? null : Nullable.GetUnderlyingType(type) ?? type;
        if (type is { IsEnum: true }) return "one of " + string.Join(", ", Enum.GetNames(type));
        return type switch
        {
            _ when type == typeof(int) || type == typeof(long) => "a whole number",
            _ when type == typeof(bool) => "true or false",
            _ when type == typeof(TimeSpan) => "a duration (hh:mm:ss or d.hh:mm:ss)",
            _ when type == typeof(double) || type == typeof(decimal) => "a number",
            _ => $"a valid {type?.Name ?? typeName}",
        };
    }

    [GeneratedRegex(@"Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();
}
