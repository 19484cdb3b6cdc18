# ruff: noqa: E501
"""Who may call the emergency-access endpoints: the coordinator opens and ends, the DPO
reviews, everyone else sees nothing (404). The SOP matrix test checks that the SOP API has
no endpoint outside its own matrix and this one."""

EMERGENCY_MATRIX = """
endpoint                                        partner police prison_expired partner_other hotline coordinator dpo admin outsider
POST  /emergency-access                         404     404    404            404           404     201         404 404   404
GET   /emergency-access                         404     404    404            404           404     200         404 404   404
POST  /emergency-access/{running}/end           404     404    404            404           404     200         403 404   404
GET   /emergency-access/reviews                 404     404    404            404           404     404         200 404   404
POST  /emergency-access/{ended}/review          404     404    404            404           404     404         200 404   404
"""

# The hotline's disclosures (issue 17.1): the hotline (counsellor and coordinator) records
# dangers and prepares; the coordinator, not the one who prepared, sends; the police unit
# of the region reads and confirms only what was sent; nobody else sees anything.
HOTLINE_DISCLOSURE_MATRIX = """
endpoint                                        partner police prison_expired partner_other hotline coordinator dpo admin outsider
POST  /contacts/{contact}/events                404     404    404            404           201     201         404 404   404
GET   /contacts/{contact}/disclosures           404     404    404            404           200     200         404 404   404
GET   /hotline-disclosures                      200     200    200            200           200     200         200 200   200
GET   /hotline-disclosures/{sent}               404     200    404            404           200     200         404 404   404
GET   /hotline-disclosures/{pending}            404     404    404            404           200     200         404 404   404
POST  /hotline-disclosures/{open}/prepare       404     404    404            404           200     200         404 404   404
POST  /hotline-disclosures/{pending}/decide     404     404    404            404           403     200         404 404   404
POST  /hotline-disclosures/{open}/cancel        404     404    404            404           200     200         404 404   404
POST  /hotline-disclosures/{sent}/receive       404     200    404            404           404     404         404 404   404
GET   /register/hotline                         404     404    404            404           404     404         200 404   404
"""
