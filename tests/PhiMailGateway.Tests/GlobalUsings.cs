global using NUnit.Framework;
global using PhiMailGateway.Storage.Sqlite;
