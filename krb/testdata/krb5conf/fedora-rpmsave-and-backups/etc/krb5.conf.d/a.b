[libdefaults]
 ticket_lifetime = 1h
