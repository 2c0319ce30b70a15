//! DICOM metadata without the patient's identity, for callers who see a study but not whom
//! it is about (an AI-analysis client): the identifying attributes of DICOM PS3.15's Basic
//! Application Level Confidentiality Profile that concern the patient and their record,
//! removed wherever they stand, by keyword (`PatientName`) or by tag (`00100010`, as the
//! DICOM JSON model writes it). Sex, age, size and weight stay: image models use them.

use serde_json::Value;

/// (keyword, tag) of each attribute removed.
const IDENTIFYING: &[(&str, &str)] = &[
    ("PatientName", "00100010"),
    ("PatientID", "00100020"),
    ("IssuerOfPatientID", "00100021"),
    ("PatientBirthDate", "00100030"),
    ("PatientBirthTime", "00100032"),
    ("PatientInsurancePlanCodeSequence", "00100050"),
    ("OtherPatientIDs", "00101000"),
    ("OtherPatientNames", "00101001"),
    ("OtherPatientIDsSequence", "00101002"),
    ("PatientBirthName", "00101005"),
    ("PatientAddress", "00101040"),
    ("PatientMotherBirthName", "00101060"),
    ("MedicalRecordLocator", "00101090"),
    ("CountryOfResidence", "00102150"),
    ("RegionOfResidence", "00102152"),
    ("PatientTelephoneNumbers", "00102154"),
    ("ResponsiblePerson", "00102297"),
    ("PatientComments", "00104000"),
    ("AccessionNumber", "00080050"),
    ("ReferringPhysicianName", "00080090"),
    ("InstitutionAddress", "00080081"),
    ("StudyID", "00200010"),
];

fn identifying(key: &str) -> bool {
    let tag: String = key.chars().filter(char::is_ascii_hexdigit).collect();
    IDENTIFYING
        .iter()
        .any(|(keyword, t)| key.eq_ignore_ascii_case(keyword) || (tag.len() == 8 && tag == *t))
}

/// Removes the identifying attributes, in nested sequences too.
pub fn deidentify(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|k, _| !identifying(k));
            map.values_mut().for_each(deidentify);
        }
        Value::Array(items) => items.iter_mut().for_each(deidentify),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifying_attributes_go_by_keyword_and_by_tag_at_any_depth() {
        let mut v = json!({
            "Modality": "CR", "PatientSex": "F", "PatientAge": "045Y",
            "PatientName": "Doe^Jane", "patientid": "MRN-1",
            "00100030": {"vr": "DA", "Value": ["19800101"]},
            "(0010,1040)": "12 Main St",
            "ReferencedStudySequence": [{"AccessionNumber": "A1", "StudyInstanceUID": "1.2.3"}],
        });
        deidentify(&mut v);
        assert_eq!(
            v,
            json!({
                "Modality": "CR", "PatientSex": "F", "PatientAge": "045Y",
                "ReferencedStudySequence": [{"StudyInstanceUID": "1.2.3"}],
            })
        );
    }
}
