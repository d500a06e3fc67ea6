<?php
// PHP's SoapClient as a user's script drives it: WSDL mode, HTTP Basic by
// the login/password options. Prints one JSON object of what each call
// answered, for tests/test_soap_legacy_clients.py to compare whole.
// Usage: php php_client.php BASE_URL PASSWORD
[, $base, $password] = $argv;

function client($url, $password)
{
    return new SoapClient($url, [
        'login' => 'admin',
        'password' => $password,
        'trace' => true,
        // Each run has its own port; a cached WSDL would be another run's.
        'cache_wsdl' => WSDL_CACHE_NONE,
    ]);
}

function fault($call)
{
    try {
        $call();
        return null;
    } catch (SoapFault $fault) {
        return ['faultcode' => $fault->faultcode, 'faultstring' => $fault->faultstring];
    }
}

// The status line of the last answer, which trace keeps.
function status($client)
{
    return strtok($client->__getLastResponseHeaders(), "\r\n");
}

$client = client("$base/interaction.do?WSDL", $password);
$out = [];

$created = $client->insert([
    'channel' => 'php-soapclient',
    'queue' => 'q1',
    'short_description' => 'From PHP & SoapClient: café ☕',
    'opened_for' => 'admin',
]);
$out['insert'] = $created;
$out['insert_status'] = status($client);
$second = $client->insert(['channel' => 'php-soapclient', 'queue' => 'q2']);
$out['second_insert'] = $second;
$third = $client->insert(['channel' => 'php-soapclient', 'queue' => 'q3']);
$out['deleteRecord'] = $client->deleteRecord(['sys_id' => $third->sys_id]);
$out['deleteRecord_again'] = $client->deleteRecord(['sys_id' => $third->sys_id]);
$out['update'] = $client->update(['sys_id' => $second->sys_id, 'state' => 'work_in_progress', 'short_description' => 'updated']);

$out['get'] = $client->get(['sys_id' => $created->sys_id]);
$out['get_unknown'] = $client->get(['sys_id' => str_repeat('0', 32)]);
$out['getRecords'] = $client->getRecords(['__encoded_query' => 'channel=php-soapclient^ORDERBYqueue', '__exclude_columns' => 'short_description']);
// One result is an object, not a list of one: SoapClient's default.
$out['getRecords_one'] = $client->getRecords(['channel' => 'php-soapclient', 'queue' => 'q2']);
$out['getRecords_none'] = $client->getRecords(['channel' => 'no such channel']);
$out['getKeys'] = $client->getKeys(['channel' => 'php-soapclient', '__order_by_desc' => 'queue']);

// sys_id is required by the WSDL: SoapClient refuses before sending.
$out['update_without_sys_id'] = fault(fn() => $client->update(['state' => 'closed_complete']));
$out['update_unknown'] = fault(fn() => $client->update(['sys_id' => str_repeat('0', 32), 'state' => 'closed_complete']));
$out['update_unknown_status'] = status($client);
$out['insert_too_long'] = fault(fn() => $client->insert(['channel' => str_repeat('x', 40)]));
$out['bad_limit'] = fault(fn() => $client->getRecords(['__limit' => 'many']));

$all = client("$base/interaction.do?displayvalue=all&WSDL", $password);
$out['get_all'] = $all->get(['sys_id' => $created->sys_id]);

$out['wrong_password'] = fault(fn() => client("$base/interaction.do?WSDL", 'wrong'));

echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE), "\n";
