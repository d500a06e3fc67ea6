#!/usr/bin/perl
# SOAP::Lite as ServiceNow's old documentation showed it: no WSDL, the proxy
# on interaction.do?SOAP, credentials from an overridden
# get_basic_credentials (so LWP sends them only once challenged with a
# 401). Prints one JSON object of what each call answered, for
# tests/test_soap_legacy_clients.py to compare whole.
# Usage: perl perl_soap_lite.pl BASE_URL PASSWORD
use strict;
use warnings;
use utf8;
use JSON::PP;
use SOAP::Lite;

my ($base, $password) = @ARGV;
my $credentials = $password;

no warnings 'redefine';
sub SOAP::Transport::HTTP::Client::get_basic_credentials { return admin => $credentials }
use warnings 'redefine';

my $soap = SOAP::Lite->proxy("$base/interaction.do?SOAP");

# The documentation's way: the operation an element in ServiceNow's
# namespace, its children plain SOAP::Data.
sub call {
    my ($operation, @params) = @_;
    my $method = SOAP::Data->name($operation)->attr({xmlns => 'http://www.service-now.com/'});
    return $soap->call($method => map { SOAP::Data->name($_->[0] => $_->[1]) } @params);
}

sub fault {
    my ($som) = @_;
    return $som->fault ? {faultcode => $som->faultcode, faultstring => $som->faultstring} : undef;
}

my %out;
# SOAP::Lite types a string holding a character beyond ASCII as
# xsd:base64Binary and sends it base64-encoded unless told it is a string.
my $description = SOAP::Data->type(string => 'From Perl & SOAP::Lite: café ☕');
my $created = call(insert => [channel => 'perl-soap-lite'], [queue => 'q1'], [short_description => $description], [opened_for => 'admin']);
$out{insert} = $created->body->{insertResponse};
my $second = call(insert => [channel => 'perl-soap-lite'], [queue => 'q2'], [short_description => 'café']);
$out{second_insert} = $second->body->{insertResponse};
my $third = call(insert => [channel => 'perl-soap-lite'], [queue => 'q3'])->body->{insertResponse};
$out{deleteRecord} = call(deleteRecord => [sys_id => $third->{sys_id}])->body->{deleteRecordResponse};

$out{get} = call(get => [sys_id => $out{insert}{sys_id}])->body->{getResponse};

# The other way of the documentation: a default namespace and a
# SOAPAction of the WSDL's form, the operation named by call().
my $typed = SOAP::Lite->default_ns('http://www.service-now.com/interaction')
    ->on_action(sub { "http://www.service-now.com/interaction/$_[1]" })
    ->proxy("$base/interaction.do?SOAP");
# getRecordsResult repeats: valueof in list context gives each one.
my $records = $typed->call('getRecords', SOAP::Data->name(__encoded_query => 'channel=perl-soap-lite^ORDERBYqueue'));
$out{getRecords} = [$records->valueof('//getRecordsResponse/getRecordsResult')];
$out{getKeys} = $typed->call('getKeys', SOAP::Data->name(channel => 'perl-soap-lite'), SOAP::Data->name(__order_by => 'queue'))
    ->body->{getKeysResponse};

$out{update_without_sys_id} = fault(call(update => [state => 'closed_complete']));
$out{update_without_sys_id_status} = $soap->transport->status;
$out{unknown_operation} = fault(call(getEverything => [sys_id => $out{insert}{sys_id}]));

# A wrong password, on a client of its own (LWP keeps credentials that
# worked): challenged again, LWP gives up, and SOAP::Lite dies with the
# transport's status, as it does by default on a failed transport.
$credentials = 'wrong';
my $refused = SOAP::Lite->proxy("$base/interaction.do?SOAP");
$out{wrong_password} = eval {
    $refused->call(SOAP::Data->name('getKeys')->attr({xmlns => 'http://www.service-now.com/'}));
    'no error';
} // $refused->transport->status;

print JSON::PP->new->utf8->canonical->pretty->encode(\%out);
