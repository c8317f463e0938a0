namespace PhiMailGateway.Users;

/// <summary>
/// What an SMTP password must be before <c>users add</c> stores it. The front-desk account is often
/// shared and typed into several Outlooks, and the gateway's port may face the internet: NIST SP
/// 800-63B asks for a minimum length and a check against passwords attackers try first, and no
/// composition rules (they make passwords harder to remember, not to guess).
/// </summary>
public static class PasswordPolicy
{
    public const int MinLength = 10;

    public const string Rule = "at least 10 characters, not a common password, not the user name";

    // Long enough to pass the length check, and among the first that password lists try.
    private static readonly HashSet<string> Common = new(StringComparer.OrdinalIgnoreCase)
    {
        "1234567890", "0987654321", "12345678910", "123456789a", "qwertyuiop", "asdfghjkl;", "1q2w3e4r5t", "1qaz2wsx3edc",
        "qwerty1234", "qwerty12345", "qwerty123456", "password12", "password123", "password1234", "password1!", "passw0rd123",
        "iloveyou12", "iloveyou123", "welcome123", "welcome1234", "letmein123", "changeme123", "abc1234567", "abcdefghij",
        "football12", "baseball12", "superman12", "princess12", "sunshine12", "administrator", "dentist123", "dental1234",
        "smile12345", "frontdesk1", "frontdesk123", "reception1", "reception123", "practice123", "office1234", "office12345",
    };

    /// <returns>Null when the password is acceptable, else why not (never echoing the password).</returns>
    public static string? Check(string userName, string password)
    {
        if (password.Length < MinLength) return $"it is shorter than {MinLength} characters";
        if (Common.Contains(password)) return "it is one of the passwords attackers try first";
        if (password.Distinct().Count() <= 2) return "it repeats one or two characters";
        if (IsRun(password)) return "it is a run of consecutive characters";
        if (password.Contains(userName, StringComparison.OrdinalIgnoreCase) && userName.Length >= 3) return "it contains the user name";
        return null;
    }

    private static bool IsRun(string password)
    {
        var up = true;
        var down = true;
        for (var i = 1; i < password.Length; i++)
        {
            up &= password[i] == password[i - 1] + 1;
            down &= password[i] == password[i - 1] - 1;
        }
        return up || down;
    }
}
