package message

// pack is everything the hook says in one language.
type pack struct {
	code string // the Language() code

	// Spoken text: voicePrefix, then each OTP character separated by
	// voiceSep, then voiceEnd. The separators are punctuation the TTS
	// engines pause on; periods are avoided where a digit followed by a
	// period reads as an ordinal (German "4." is "vierte").
	voicePrefix, voiceSep, voiceEnd string

	// SMS text: smsPrefix + otp + smsSuffix. Latin-script texts keep to the
	// GSM-7 alphabet (one 160-character segment); the others fit one
	// 70-character UCS-2 segment.
	smsPrefix, smsSuffix string

	refusals map[Reason]string
}

// The required languages. Sentences are for an end user reading Okta's
// sign-in page: no internal names, no provider codes, nothing from the
// request.
var (
	english = &pack{
		code:        "en",
		voicePrefix: "Your verification code is: ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		smsPrefix:   "Your verification code is ",
		smsSuffix:   ". Do not share it with anyone.",
		refusals: map[Reason]string{
			InvalidNumber:  "The phone number on your account can't receive a verification code. Check it or contact your administrator.",
			NumberType:     "Verification codes can't be sent to this type of phone number. Contact your administrator.",
			Country:        "Verification codes can't be sent to phone numbers in this country. Contact your administrator.",
			RateLimited:    "Too many codes have been requested. Wait a few minutes and try again.",
			Expired:        "The code expired before it could be sent. Request a new code.",
			DeliveryFailed: "We couldn't deliver your verification code. Try again or use another verification method.",
			Unavailable:    "Phone verification is temporarily unavailable. Try again later or use another verification method.",
		},
	}

	spanish = &pack{
		code:        "es",
		voicePrefix: "Su código de verificación es: ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		// "código" and "verificación" are outside GSM-7; this phrasing is not.
		smsPrefix: "Use ",
		smsSuffix: " para verificar su identidad. No lo comparta con nadie.",
		refusals: map[Reason]string{
			InvalidNumber:  "El número de teléfono de su cuenta no puede recibir códigos de verificación. Compruébelo o póngase en contacto con su administrador.",
			NumberType:     "No se pueden enviar códigos de verificación a este tipo de número de teléfono. Póngase en contacto con su administrador.",
			Country:        "No se pueden enviar códigos de verificación a números de teléfono de este país. Póngase en contacto con su administrador.",
			RateLimited:    "Se han solicitado demasiados códigos. Espere unos minutos y vuelva a intentarlo.",
			Expired:        "El código caducó antes de poder enviarse. Solicite un código nuevo.",
			DeliveryFailed: "No pudimos entregar su código de verificación. Vuelva a intentarlo o utilice otro método de verificación.",
			Unavailable:    "La verificación por teléfono no está disponible temporalmente. Inténtelo más tarde o utilice otro método de verificación.",
		},
	}

	french = &pack{
		code:        "fr",
		voicePrefix: "Votre code de vérification est : ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		smsPrefix:   "Votre code de vérification est ",
		smsSuffix:   ". Ne le communiquez à personne.",
		refusals: map[Reason]string{
			InvalidNumber:  "Le numéro de téléphone associé à votre compte ne peut pas recevoir de code de vérification. Vérifiez-le ou contactez votre administrateur.",
			NumberType:     "Les codes de vérification ne peuvent pas être envoyés à ce type de numéro de téléphone. Contactez votre administrateur.",
			Country:        "Les codes de vérification ne peuvent pas être envoyés aux numéros de téléphone de ce pays. Contactez votre administrateur.",
			RateLimited:    "Trop de codes ont été demandés. Patientez quelques minutes, puis réessayez.",
			Expired:        "Le code a expiré avant de pouvoir être envoyé. Demandez un nouveau code.",
			DeliveryFailed: "Nous n'avons pas pu envoyer votre code de vérification. Réessayez ou utilisez une autre méthode de vérification.",
			Unavailable:    "La vérification par téléphone est temporairement indisponible. Réessayez plus tard ou utilisez une autre méthode de vérification.",
		},
	}

	german = &pack{
		code:        "de",
		voicePrefix: "Ihr Bestätigungscode lautet: ",
		voiceSep:    ", ",
		voiceEnd:    ".",
		smsPrefix:   "Ihr Bestätigungscode lautet ",
		smsSuffix:   ". Geben Sie ihn an niemanden weiter.",
		refusals: map[Reason]string{
			InvalidNumber:  "Die Telefonnummer in Ihrem Konto kann keine Bestätigungscodes empfangen. Überprüfen Sie sie oder wenden Sie sich an Ihren Administrator.",
			NumberType:     "An diese Art von Telefonnummer können keine Bestätigungscodes gesendet werden. Wenden Sie sich an Ihren Administrator.",
			Country:        "An Telefonnummern in diesem Land können keine Bestätigungscodes gesendet werden. Wenden Sie sich an Ihren Administrator.",
			RateLimited:    "Es wurden zu viele Codes angefordert. Warten Sie einige Minuten und versuchen Sie es dann erneut.",
			Expired:        "Der Code ist abgelaufen, bevor er gesendet werden konnte. Fordern Sie einen neuen Code an.",
			DeliveryFailed: "Ihr Bestätigungscode konnte nicht zugestellt werden. Versuchen Sie es erneut oder verwenden Sie eine andere Bestätigungsmethode.",
			Unavailable:    "Die Bestätigung per Telefon ist vorübergehend nicht verfügbar. Versuchen Sie es später erneut oder verwenden Sie eine andere Bestätigungsmethode.",
		},
	}

	italian = &pack{
		code:        "it",
		voicePrefix: "Il tuo codice di verifica è: ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		smsPrefix:   "Il tuo codice di verifica è ",
		smsSuffix:   ". Non condividerlo con nessuno.",
		refusals: map[Reason]string{
			InvalidNumber:  "Il numero di telefono associato al tuo account non può ricevere codici di verifica. Controllalo o contatta l'amministratore.",
			NumberType:     "Non è possibile inviare codici di verifica a questo tipo di numero di telefono. Contatta l'amministratore.",
			Country:        "Non è possibile inviare codici di verifica a numeri di telefono di questo paese. Contatta l'amministratore.",
			RateLimited:    "Sono stati richiesti troppi codici. Attendi qualche minuto e riprova.",
			Expired:        "Il codice è scaduto prima che potesse essere inviato. Richiedine uno nuovo.",
			DeliveryFailed: "Non è stato possibile recapitare il codice di verifica. Riprova o usa un altro metodo di verifica.",
			Unavailable:    "La verifica tramite telefono non è al momento disponibile. Riprova più tardi o usa un altro metodo di verifica.",
		},
	}

	portuguese = &pack{
		code:        "pt",
		voicePrefix: "Seu código de verificação é: ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		// "código", "verificação" and "não" are outside GSM-7; this phrasing is not.
		smsPrefix: "Use ",
		smsSuffix: " para confirmar sua identidade. Nunca o compartilhe com ninguém.",
		refusals: map[Reason]string{
			InvalidNumber:  "O número de telefone da sua conta não pode receber códigos de verificação. Verifique-o ou entre em contato com o administrador.",
			NumberType:     "Não é possível enviar códigos de verificação para este tipo de número de telefone. Entre em contato com o administrador.",
			Country:        "Não é possível enviar códigos de verificação para números de telefone deste país. Entre em contato com o administrador.",
			RateLimited:    "Foram solicitados muitos códigos. Aguarde alguns minutos e tente novamente.",
			Expired:        "O código expirou antes de poder ser enviado. Solicite um novo código.",
			DeliveryFailed: "Não foi possível entregar o seu código de verificação. Tente novamente ou use outro método de verificação.",
			Unavailable:    "A verificação por telefone está temporariamente indisponível. Tente novamente mais tarde ou use outro método de verificação.",
		},
	}

	dutch = &pack{
		code:        "nl",
		voicePrefix: "Uw verificatiecode is: ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		smsPrefix:   "Uw verificatiecode is ",
		smsSuffix:   ". Deel deze code met niemand.",
		refusals: map[Reason]string{
			InvalidNumber:  "Het telefoonnummer van uw account kan geen verificatiecodes ontvangen. Controleer het nummer of neem contact op met uw beheerder.",
			NumberType:     "Naar dit type telefoonnummer kunnen geen verificatiecodes worden verzonden. Neem contact op met uw beheerder.",
			Country:        "Naar telefoonnummers in dit land kunnen geen verificatiecodes worden verzonden. Neem contact op met uw beheerder.",
			RateLimited:    "Er zijn te veel codes aangevraagd. Wacht een paar minuten en probeer het opnieuw.",
			Expired:        "De code is verlopen voordat deze kon worden verzonden. Vraag een nieuwe code aan.",
			DeliveryFailed: "We konden uw verificatiecode niet afleveren. Probeer het opnieuw of gebruik een andere verificatiemethode.",
			Unavailable:    "Verificatie per telefoon is tijdelijk niet beschikbaar. Probeer het later opnieuw of gebruik een andere verificatiemethode.",
		},
	}

	japanese = &pack{
		code:        "ja",
		voicePrefix: "確認コードをお知らせします。",
		voiceSep:    "、",
		voiceEnd:    "。",
		smsPrefix:   "確認コードは ",
		smsSuffix:   " です。このコードは誰にも教えないでください。",
		refusals: map[Reason]string{
			InvalidNumber:  "アカウントに登録されている電話番号では確認コードを受信できません。番号を確認するか、管理者にお問い合わせください。",
			NumberType:     "この種類の電話番号には確認コードを送信できません。管理者にお問い合わせください。",
			Country:        "この国の電話番号には確認コードを送信できません。管理者にお問い合わせください。",
			RateLimited:    "確認コードのリクエストが多すぎます。数分待ってからもう一度お試しください。",
			Expired:        "確認コードは送信される前に有効期限が切れました。新しいコードをリクエストしてください。",
			DeliveryFailed: "確認コードを送信できませんでした。もう一度お試しいただくか、別の確認方法をご利用ください。",
			Unavailable:    "電話による確認は現在ご利用いただけません。しばらくしてからもう一度お試しいただくか、別の確認方法をご利用ください。",
		},
	}

	chinese = &pack{
		code:        "zh",
		voicePrefix: "您的验证码是：",
		voiceSep:    "，",
		voiceEnd:    "。",
		smsPrefix:   "您的验证码是 ",
		smsSuffix:   "。请勿将验证码告诉他人。",
		refusals: map[Reason]string{
			InvalidNumber:  "您账户中的电话号码无法接收验证码。请检查该号码或联系管理员。",
			NumberType:     "无法向此类电话号码发送验证码。请联系管理员。",
			Country:        "无法向该国家或地区的电话号码发送验证码。请联系管理员。",
			RateLimited:    "请求验证码的次数过多。请等待几分钟后重试。",
			Expired:        "验证码在发送前已过期。请重新获取验证码。",
			DeliveryFailed: "无法发送您的验证码。请重试或使用其他验证方式。",
			Unavailable:    "电话验证暂时不可用。请稍后重试或使用其他验证方式。",
		},
	}

	// chineseTraditional serves zh-TW, zh-HK, zh-MO and zh-Hant: same
	// language, Traditional characters and Taiwanese wording.
	chineseTraditional = &pack{
		code:        "zh",
		voicePrefix: "您的驗證碼是：",
		voiceSep:    "，",
		voiceEnd:    "。",
		smsPrefix:   "您的驗證碼是 ",
		smsSuffix:   "。請勿將驗證碼告訴他人。",
		refusals: map[Reason]string{
			InvalidNumber:  "您帳戶中的電話號碼無法接收驗證碼。請檢查該號碼或聯絡管理員。",
			NumberType:     "無法傳送驗證碼至此類電話號碼。請聯絡管理員。",
			Country:        "無法傳送驗證碼至該國家或地區的電話號碼。請聯絡管理員。",
			RateLimited:    "要求驗證碼的次數過多。請稍候幾分鐘後再試。",
			Expired:        "驗證碼在傳送前已過期。請重新取得驗證碼。",
			DeliveryFailed: "無法傳送您的驗證碼。請再試一次或使用其他驗證方式。",
			Unavailable:    "電話驗證暫時無法使用。請稍後再試或使用其他驗證方式。",
		},
	}

	korean = &pack{
		code:        "ko",
		voicePrefix: "인증 코드를 알려 드립니다. ",
		voiceSep:    ". ",
		voiceEnd:    ".",
		smsPrefix:   "인증 코드는 ",
		smsSuffix:   "입니다. 다른 사람에게 알려 주지 마세요.",
		refusals: map[Reason]string{
			InvalidNumber:  "계정에 등록된 전화번호로는 인증 코드를 받을 수 없습니다. 번호를 확인하거나 관리자에게 문의하세요.",
			NumberType:     "이 유형의 전화번호로는 인증 코드를 보낼 수 없습니다. 관리자에게 문의하세요.",
			Country:        "이 국가의 전화번호로는 인증 코드를 보낼 수 없습니다. 관리자에게 문의하세요.",
			RateLimited:    "인증 코드 요청이 너무 많습니다. 몇 분 후에 다시 시도하세요.",
			Expired:        "인증 코드가 전송되기 전에 만료되었습니다. 새 코드를 요청하세요.",
			DeliveryFailed: "인증 코드를 전달하지 못했습니다. 다시 시도하거나 다른 인증 방법을 사용하세요.",
			Unavailable:    "전화 인증을 일시적으로 사용할 수 없습니다. 나중에 다시 시도하거나 다른 인증 방법을 사용하세요.",
		},
	}

	arabic = &pack{
		code:        "ar",
		voicePrefix: "رمز التحقق الخاص بك هو: ",
		voiceSep:    "، ",
		voiceEnd:    ".",
		smsPrefix:   "رمز التحقق الخاص بك هو ",
		smsSuffix:   ". لا تشاركه مع أي شخص.",
		refusals: map[Reason]string{
			InvalidNumber:  "لا يمكن لرقم الهاتف المسجل في حسابك استلام رموز التحقق. تحقق منه أو تواصل مع المسؤول.",
			NumberType:     "لا يمكن إرسال رموز التحقق إلى هذا النوع من أرقام الهواتف. تواصل مع المسؤول.",
			Country:        "لا يمكن إرسال رموز التحقق إلى أرقام الهواتف في هذا البلد. تواصل مع المسؤول.",
			RateLimited:    "تم طلب عدد كبير جدًا من الرموز. انتظر بضع دقائق ثم حاول مرة أخرى.",
			Expired:        "انتهت صلاحية الرمز قبل أن يتم إرساله. اطلب رمزًا جديدًا.",
			DeliveryFailed: "تعذّر إرسال رمز التحقق. حاول مرة أخرى أو استخدم طريقة تحقق أخرى.",
			Unavailable:    "التحقق عبر الهاتف غير متاح مؤقتًا. حاول مرة أخرى لاحقًا أو استخدم طريقة تحقق أخرى.",
		},
	}

	hindi = &pack{
		code:        "hi",
		voicePrefix: "आपका सत्यापन कोड है: ",
		voiceSep:    ", ",
		voiceEnd:    "।",
		smsPrefix:   "आपका सत्यापन कोड ",
		smsSuffix:   " है। इसे किसी के साथ साझा न करें।",
		refusals: map[Reason]string{
			InvalidNumber:  "आपके खाते में दर्ज फ़ोन नंबर पर सत्यापन कोड नहीं भेजा जा सकता। नंबर जाँचें या अपने व्यवस्थापक से संपर्क करें।",
			NumberType:     "इस प्रकार के फ़ोन नंबर पर सत्यापन कोड नहीं भेजे जा सकते। अपने व्यवस्थापक से संपर्क करें।",
			Country:        "इस देश के फ़ोन नंबरों पर सत्यापन कोड नहीं भेजे जा सकते। अपने व्यवस्थापक से संपर्क करें।",
			RateLimited:    "बहुत अधिक कोड का अनुरोध किया गया है। कुछ मिनट प्रतीक्षा करें और फिर से प्रयास करें।",
			Expired:        "कोड भेजे जाने से पहले ही उसकी समय-सीमा समाप्त हो गई। नए कोड का अनुरोध करें।",
			DeliveryFailed: "हम आपका सत्यापन कोड नहीं भेज सके। फिर से प्रयास करें या सत्यापन का कोई अन्य तरीका इस्तेमाल करें।",
			Unavailable:    "फ़ोन द्वारा सत्यापन अस्थायी रूप से उपलब्ध नहीं है। बाद में फिर से प्रयास करें या सत्यापन का कोई अन्य तरीका इस्तेमाल करें।",
		},
	}
)

// packs is keyed by language code; Traditional Chinese is chosen by script
// or region in packFor.
var packs = map[string]*pack{
	"en": english,
	"es": spanish,
	"fr": french,
	"de": german,
	"it": italian,
	"pt": portuguese,
	"nl": dutch,
	"ja": japanese,
	"zh": chinese,
	"ko": korean,
	"ar": arabic,
	"hi": hindi,
}

// voiceProfiles maps a language to its default 8x8 `say` voiceProfile, and
// a locale (language-Script, language-REGION) to its own where it differs.
// 8x8's names are the Azure TTS short names
// (legacy "ar-EG-Hoda", neural "ar-EG-SalmaNeural"). Sources:
//
//	[okta]  8x8 "Okta - Bring Your Own Telephony (BYOT) via Voice" guide
//	        (developer.8x8.com/connect/docs/okta-bring-your-own-telephony-byot-via-voice-otp):
//	        VOICE_PROFILE=en-US-Jenny; also DESIGN.md.
//	[spec]  8x8 Voice API OpenAPI (shared/contracts/8x8/voice_v1_api.json),
//	        say.params.voiceProfile example "en-GB-Emma".
//	[guide] 8x8 Voice Messaging guide (developer.8x8.com/connect/reference/voice-messaging-guide):
//	        "en-IE-EmilyNeural".
//	[list]  8x8 "Voice Languages and Profiles"
//	        (developer.8x8.com/connect/reference-link/vm-voice-languages-and-profiles).
//	[scheme] not in the part of 8x8's list we could read: the Azure neural
//	        voice for the locale, in the same naming scheme as [list]. A
//	        wrong name is 8x8 statusCode -1002 on every call: Voices checks
//	        the table against the account's own list
//	        (GET /api/v1/subaccounts/{id}/speech-profiles) and substitutes.
var voiceProfiles = map[string]string{
	"en":    "en-US-Jenny",         // [okta]
	"en-GB": "en-GB-Emma",          // [spec]
	"en-IE": "en-IE-EmilyNeural",   // [guide]
	"en-AU": "en-AU-NatashaNeural", // [scheme]
	"en-IN": "en-IN-NeerjaNeural",  // [scheme]
	"en-CA": "en-CA-ClaraNeural",   // [scheme]

	"es":     "es-ES-ElviraNeural", // [scheme]
	"es-US":  "es-US-PalomaNeural", // [scheme]
	"es-MX":  "es-MX-DaliaNeural",  // [scheme]
	"es-419": "es-MX-DaliaNeural",  // Latin American Spanish (and its countries: profileFor)

	"fr":    "fr-FR-DeniseNeural", // [scheme]
	"fr-CA": "fr-CA-SylvieNeural", // [scheme]

	"de": "de-DE-KatjaNeural", // [scheme]

	"it": "it-IT-ElsaNeural", // [scheme]

	"pt":    "pt-BR-FranciscaNeural", // [scheme]; Brazil is most Portuguese speakers
	"pt-PT": "pt-PT-RaquelNeural",    // [scheme]

	"nl": "nl-NL-ColetteNeural", // [scheme]

	"ja": "ja-JP-NanamiNeural", // [scheme]

	"zh":      "zh-CN-XiaoxiaoNeural",  // [list]
	"zh-TW":   "zh-TW-HsiaoChenNeural", // [list]
	"zh-Hant": "zh-TW-HsiaoChenNeural", // [list]
	"zh-HK":   "zh-HK-HiuMaanNeural",   // [scheme]; Cantonese

	"ko": "ko-KR-SunHiNeural", // [scheme]

	"ar":    "ar-SA-ZariyahNeural", // [list]; Modern Standard Arabic
	"ar-EG": "ar-EG-SalmaNeural",   // [list]

	"hi": "hi-IN-SwaraNeural", // [scheme]
}
