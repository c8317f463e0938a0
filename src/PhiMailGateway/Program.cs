using PhiMailGateway.Cli;

// One executable: no verb (or `serve`) runs the gateway; the other verbs are IT's commands.
return await GatewayCommandLine.RunAsync(args);
