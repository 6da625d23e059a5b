/**
 * The Task Scheduler task that runs the launcher at the user's logon, as XML for
 * `schtasks /Create /XML`. The XML says what `schtasks /SC ONLOGON` cannot: a logon
 * trigger for this user only (a standard user may register that one), no 72-hour time
 * limit (the default stops a task after three days), normal priority (the default, 7,
 * is below normal, and AutoHotkey's hotkeys would inherit it), and running on battery.
 */

export interface LogonTaskSpec {
  /** DOMAIN\user: whose logon starts it, and whose rights it runs with. */
  user: string;
  /** wscript.exe's full path. */
  command: string;
  /** Its arguments: the quoted launcher path. */
  arguments: string;
  workingDirectory: string;
  description: string;
}

const xmlText = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The task definition, declared UTF-16 (write it with `utf16Bytes`). */
export function logonTaskXml(spec: LogonTaskSpec): string {
  const user = xmlText(spec.user);
  return [
    '<?xml version="1.0" encoding="UTF-16"?>',
    '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
    '  <RegistrationInfo>',
    `    <Author>${user}</Author>`,
    `    <Description>${xmlText(spec.description)}</Description>`,
    '  </RegistrationInfo>',
    '  <Triggers>',
    '    <LogonTrigger>',
    '      <Enabled>true</Enabled>',
    `      <UserId>${user}</UserId>`,
    '    </LogonTrigger>',
    '  </Triggers>',
    '  <Principals>',
    '    <Principal id="Author">',
    `      <UserId>${user}</UserId>`,
    '      <LogonType>InteractiveToken</LogonType>',
    '      <RunLevel>LeastPrivilege</RunLevel>',
    '    </Principal>',
    '  </Principals>',
    '  <Settings>',
    '    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>',
    '    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>',
    '    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>',
    '    <AllowHardTerminate>true</AllowHardTerminate>',
    '    <StartWhenAvailable>false</StartWhenAvailable>',
    '    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>',
    '    <IdleSettings>',
    '      <StopOnIdleEnd>false</StopOnIdleEnd>',
    '      <RestartOnIdle>false</RestartOnIdle>',
    '    </IdleSettings>',
    '    <AllowStartOnDemand>true</AllowStartOnDemand>',
    '    <Enabled>true</Enabled>',
    '    <Hidden>false</Hidden>',
    '    <RunOnlyIfIdle>false</RunOnlyIfIdle>',
    '    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>',
    '    <Priority>5</Priority>',
    '  </Settings>',
    '  <Actions Context="Author">',
    '    <Exec>',
    `      <Command>${xmlText(spec.command)}</Command>`,
    `      <Arguments>${xmlText(spec.arguments)}</Arguments>`,
    `      <WorkingDirectory>${xmlText(spec.workingDirectory)}</WorkingDirectory>`,
    '    </Exec>',
    '  </Actions>',
    '</Task>',
    '',
  ].join('\r\n');
}

/** The bytes of a task definition: UTF-16LE with a byte order mark, as its XML declares. */
export function utf16Bytes(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}
